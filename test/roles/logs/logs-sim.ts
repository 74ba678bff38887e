import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateNoteKey } from '../../../src/protocol/note/note.js';
import { startSim, type SimHandle } from '../../helpers/sim.js';

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
 */
export async function startLogsSim(logs: Record<string, unknown> = {}): Promise<LogsSim> {
  const key = generateNoteKey('qbuild-logs/logs');
  const sim = await startSim({
    configure: (dir) => {
      writeFileSync(join(dir, 'logs-note.key'), `${key.signerKey}\n`, { mode: 0o600 });
      const edit = (vm: string, f: (c: Record<string, Record<string, unknown>>) => void): void => {
        const p = join(dir, 'files', vm, 'qbuild.json');
        const c = JSON.parse(readFileSync(p, 'utf8'));
        f(c);
        writeFileSync(p, JSON.stringify(c, null, 2));
      };
      edit('logs', (c) => { Object.assign(c.logs!, { listen: '127.0.0.1:0', noteKeyFile: join(dir, 'logs-note.key'), ...logs }); });
      for (const k of ['keys-fedora', 'keys-debian']) edit(k, (c) => { c.keys!.logsPublicKey = key.verifierKey; });
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

export async function waitFor<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function readText(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return '';
  }
}
