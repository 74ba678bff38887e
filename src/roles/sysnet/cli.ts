import { QbuildError } from '../../errors.js';
import { parseListen } from './config.js';

const USAGE = 'usage: qbuild role sysnet --serve [--listen HOST:PORT]';

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
    else if (a === '--help' || a === '-h') { process.stdout.write(`${USAGE}\n`); return 0; }
    else throw new QbuildError('usage', `unknown argument ${JSON.stringify(a.slice(0, 40))}; ${USAGE}`);
  }
  if (!serveFlag) throw new QbuildError('usage', USAGE);
  const { serve } = await import('./serve.js');
  return serve(listen === undefined ? undefined : parseListen(listen));
}
