import { QbuildError } from '../../errors.js';
import { parseListen } from './config.js';

const USAGE = `usage: qbuild role sysnet COMMAND
  --serve [--listen HOST:PORT]  run the webhook listener and forwarder (--listen overrides the config)
  help                          this text`;

/**
 * `qbuild role sysnet ...`. `--serve` runs the webhook listener and forwarder (design §8);
 * `--listen` overrides the config's address. Anything else is a usage error.
 */
export async function runSysnetCli(args: string[]): Promise<number> {
  let serveFlag = false;
  let listen: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--serve') serveFlag = true;
    else if (a === '--listen' && i + 1 < args.length) listen = args[++i];
    else if (a.startsWith('--listen=')) listen = a.slice('--listen='.length);
    else if (a === '--help' || a === '-h' || a === 'help') { process.stdout.write(`${USAGE}\n`); return 0; }
    else throw new QbuildError('usage', `unknown ${a.startsWith('-') ? 'option' : 'argument'} ${JSON.stringify(a.slice(0, 40))} (see qbuild role sysnet help)`);
  }
  if (!serveFlag) throw new QbuildError('usage', 'name a command (see qbuild role sysnet help)');
  const { serve } = await import('./serve.js');
  return serve(listen === undefined ? undefined : parseListen(listen));
}
