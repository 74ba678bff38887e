import { stateDir } from '../../config.js';
import { oneLine, QbuildError } from '../../errors.js';
import { untilSignal } from '../../util/until-signal.js';
import { loadBuildConfig } from './config.js';
import { buildPaths } from './state/paths.js';

const USAGE = `usage: qbuild role build COMMAND
  --serve | serve   run the build daemon (runs queued jobs: fetch, build, sign, publish, upload)
  status            queue, running stage, last result and published versions per component
  ssh-key           create (once) and print this qube's ssh public key for the upload hosts
  help              this text`;

function daemonLog(m: string): void {
  process.stderr.write(`${new Date().toISOString()} build: ${m.replace(/[\r\n]+/g, ' ')}\n`);
}

/** `qbuild role build ...` (the build VM). Heavy modules load only in the commands that need them. */
export async function runBuildCli(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  const out = (s: string) => process.stdout.write(`${s}\n`);
  if (cmd === 'help' || cmd === '--help' || cmd === '-h') { out(USAGE); return 0; }
  if (cmd !== undefined && cmd.startsWith('-') && cmd !== '--serve') throw new QbuildError('usage', `unknown option ${JSON.stringify(cmd.slice(0, 40))} (see qbuild role build help)`);
  if (rest.length) throw new QbuildError('usage', `unexpected argument ${JSON.stringify(rest[0])} (see qbuild role build help)`);
  const state = stateDir();
  const paths = buildPaths(state);
  switch (cmd) {
    case '--serve':
    case 'serve': {
      const config = loadBuildConfig(state);
      const { serveBuild } = await import('./daemon/serve.js');
      const { loadDefaultTransport } = await import('../../protocol/qrexec/transport-choice.js');
      const { LocalExecutor } = await import('./executor/local.js');
      // A stray rejection deep in a library (a remote's odd answer) is logged, never the end of
      // the daemon: the job it belonged to fails through its own stage error or timeout.
      process.on('unhandledRejection', (e) => daemonLog(`unexpected: ${oneLine(e)}`));
      const transport = await loadDefaultTransport();
      const local = new LocalExecutor({ recordsDir: paths.runs });
      // `executor: dispvm`: every recipe in a fresh disposable (a dead call leaves nothing running).
      const executor = config.executor
        ? new (await import('./executor/dispvm.js')).DispVmExecutor(transport, config.executor.dvm)
        : local;
      if (config.executor) daemonLog(`recipes run in disposables of ${config.executor.dvm}`);
      const d = await serveBuild({
        config, paths, transport, executor, reapLeftovers: () => local.reapLeftovers(),
        env: process.env, qbuildBin: process.env.QBUILD_BIN || process.execPath, concurrency: 1, say: daemonLog,
      });
      await untilSignal(d);
      return 0;
    }
    case 'status': {
      const config = loadBuildConfig(state);
      const { buildStatus } = await import('./status.js');
      const { daemonAlive } = await import('./daemon-alive.js');
      out(`build daemon: ${daemonAlive(paths) ? 'running' : 'not running (qbuild role build --serve)'}`);
      for (const l of buildStatus(paths, config.components.map((c) => c.name))) out(l);
      out((await import('./report/status.js')).reportStatus(config, paths));
      return 0;
    }
    case 'ssh-key': {
      const { ensureSshKey } = await import('./ssh-key.js');
      const k = await ensureSshKey(state);
      out(k.publicKeyLine);
      return 0;
    }
    default:
      throw new QbuildError('usage', cmd === undefined ? 'name a command (see qbuild role build help)' : `unknown command ${JSON.stringify(cmd)} (see qbuild role build help)`);
  }
}
