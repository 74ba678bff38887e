// Entry point of the single binary. `qbuild rpc SERVICE` takes a fast path that loads neither
// yargs nor any other command: every qrexec call starts a fresh process (design §2).
import { reportAndExit } from './report.js';

declare const QBUILD_VERSION: string;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'rpc' && argv.length >= 2 && !argv[1]!.startsWith('-')) {
    const { runRpc } = await import('./rpc-run.js');
    return runRpc(argv[1]!, argv.slice(2));
  }
  if (argv[0] === 'sign') {
    // split-gpg client: a drop-in gpg that runs per signature, so it skips yargs too.
    const { runSignAndExit } = await import('../roles/build/sign/client.js');
    return runSignAndExit(argv.slice(1));
  }
  // A reader that went away (`qbuild provision --dry-run | head`) is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); throw e; });
  const { runCli } = await import('./cli.js');
  return runCli(argv, typeof QBUILD_VERSION === 'string' ? QBUILD_VERSION : 'dev');
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => reportAndExit(err, process.argv[2]),
);
