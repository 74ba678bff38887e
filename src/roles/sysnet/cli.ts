import { QbuildError } from '../../errors.js';
import { parseListenAddress, type ListenAddress } from '../../util/listen-address.js';

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
    else if (a === '--listen') {
      if (i + 1 >= args.length) throw new QbuildError('usage', '--listen needs HOST:PORT (see qbuild role sysnet help)');
      listen = args[++i];
    }
    else if (a.startsWith('--listen=')) listen = a.slice('--listen='.length);
    else if (a === '--help' || a === '-h' || a === 'help') { process.stdout.write(`${USAGE}\n`); return 0; }
    else throw new QbuildError('usage', `unknown ${a.startsWith('-') ? 'option' : 'argument'} ${JSON.stringify(a.slice(0, 40))} (see qbuild role sysnet help)`);
  }
  if (!serveFlag) throw new QbuildError('usage', 'name a command (see qbuild role sysnet help)');
  const { serve } = await import('./serve.js');
  return serve(listen === undefined ? undefined : listenOption(listen));
}

/** `--listen HOST:PORT`: parseListenAddress's rules; a bad value is blamed on the option, not the config. */
function listenOption(value: string): ListenAddress {
  try {
    return parseListenAddress(value);
  } catch (e) {
    throw new QbuildError('usage', `--listen: ${(e as Error).message}`);
  }
}
