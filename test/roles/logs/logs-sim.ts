import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateNoteKey } from '../../../src/protocol/note/note.js';
import { editVmConfig, startSim, type SimHandle } from '../../helpers/sim.js';
import { waitFor } from '../../helpers/wait.js';

export interface LogsSim extends SimHandle {
  store: string;
  verifierKey: string;
  /** Logs VM's published records (finished, committed logs). */
  published(): { path: string; complete: boolean; commit: string }[];
  daemonPid(): number;
}

/**
 * The example pillar in the simulator, with the logs VM's ticket key provisioned to the keys
 * VMs (as the pillar's logs public key would be) and the live view on an ephemeral port.
 * `configure` may change the formula further before `sim up`.
 */
export async function startLogsSim(logs: Record<string, unknown> = {}, configure?: (formula: string) => void): Promise<LogsSim> {
  const key = generateNoteKey('qbuild-logs/logs');
  const sim = await startSim({
    configure: (dir) => {
      writeFileSync(join(dir, 'logs-note.key'), `${key.signerKey}\n`, { mode: 0o600 });
      const edit = (vm: string, f: (c: Record<string, Record<string, unknown>>) => void): void => editVmConfig(dir, vm, f);
      edit('logs', (c) => { Object.assign(c.logs!, { listen: '127.0.0.1:0', noteKeyFile: join(dir, 'logs-note.key'), ...logs }); });
      for (const k of ['keys-fedora', 'keys-debian']) edit(k, (c) => { c.keys!.logsPublicKey = key.verifierKey; });
      configure?.(dir);
    },
  });
  const store = join(sim.stateDir('logs'), 'store');
  return {
    ...sim,
    store,
    verifierKey: key.verifierKey,
    published() {
      const dir = join(sim.stateDir('logs'), 'published');
      try {
        return readdirSync(dir).filter((n) => n.endsWith('.json') && !n.startsWith('.'))
          .map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')));
      } catch {
        return [];
      }
    },
    daemonPid() {
      const dir = join(sim.dir, 'sim');
      const f = readdirSync(dir).find((n) => n.startsWith('daemon-logs-') && n.endsWith('.pid'))!;
      return Number(readFileSync(join(dir, f), 'utf8').trim());
    },
  };
}

/** The logs VM's spool entries now (to tell a new log from older ones). */
export function spoolNames(sim: LogsSim): Set<string> {
  const spool = join(sim.stateDir('logs'), 'spool');
  return new Set(existsSync(spool) ? readdirSync(spool) : []);
}

/** The store path of a log being written (an open spool record not in `before`), once there is one. */
export function openLogPath(sim: LogsSim, before: Set<string> = new Set()): Promise<string> {
  return waitFor('the log to be created', () => {
    const spool = join(sim.stateDir('logs'), 'spool');
    const f = existsSync(spool) ? readdirSync(spool).find((n) => n.endsWith('.open.json') && !before.has(n)) : undefined;
    return f ? (JSON.parse(readFileSync(join(spool, f), 'utf8')) as { path: string }).path : undefined;
  });
}

export function readText(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return '';
  }
}
