import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { repoRoot } from '../../helpers/binary.js';
import { editVmConfig, startSim, type SimHandle } from '../../helpers/sim.js';
import { signBody } from '../../../src/protocol/github/signature.js';
import { waitFor } from '../../helpers/wait.js';
import { httpRequest, type HttpReply } from '../../helpers/http.js';

export const SECRET = 'sim-webhook-secret-0123456789';
export const BUILD_VMS = ['build-fedora', 'build-debian'];

/**
 * The example pillar plus two loopback "remote hosts" (so policy allows ConnectSSH to them),
 * and sys-net configured for a test: loopback listener on a free port, secret in the formula,
 * fast retries, `sshPort` and `sshHosts` as given.
 */
export async function startSysnetSim(opts: { sshPort?: number; sshHosts?: string[] } = {}): Promise<SimHandle> {
  const pillar = YAML.parse(readFileSync(join(repoRoot, 'examples', 'pillar.yml'), 'utf8')) as Record<string, Record<string, unknown>>;
  const hosts = pillar['build-infra']!['remote-hosts'] as Record<string, unknown>;
  const template = Object.values(hosts)[0];
  hosts['localhost'] = structuredClone(template);
  hosts['127.0.0.1'] = structuredClone(template);
  return startSim({
    pillar: YAML.stringify(pillar),
    configure: (dir) => {
      const secretFile = join(dir, 'webhook-secret');
      writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
      editVmConfig<{ sysnet: Record<string, unknown> }>(dir, 'sys-net', (c) => {
        c.sysnet = {
          ...c.sysnet, listen: '127.0.0.1:0', secretFile, retryBaseMs: 100, retryMaxMs: 400,
          ...(opts.sshPort ? { sshPort: opts.sshPort } : {}),
          ...(opts.sshHosts ? { sshHosts: opts.sshHosts } : {}),
        };
      });
    },
  });
}

/** The listener's port once the sys-net daemon is up (it writes state/sysnet/listening). */
export async function listenerPort(sim: SimHandle): Promise<number> {
  const file = join(sim.stateDir('sys-net'), 'sysnet', 'listening');
  await waitFor(`sys-net listener (see ${sim.qubeDir('sys-net')}/daemons.log)`, () => existsSync(file));
  return Number(/:(\d+)\n$/.exec(readFileSync(file, 'utf8'))![1]);
}

/** POSTs a webhook as GitHub does: JSON body, event, delivery GUID, signature (unless `signature` overrides). */
export function deliver(port: number, path: string, event: string, body: string, delivery: string, signature?: string | null): Promise<HttpReply> {
  const headers: Record<string, string> = {
    'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': delivery,
    'user-agent': 'GitHub-Hookshot/test',
  };
  if (signature !== null) headers['x-hub-signature-256'] = signature ?? signBody(SECRET, body);
  return httpRequest(port, path, { method: 'POST', headers, body });
}

/** The records a build VM's inbox holds (`trigger.jsonl` / `command.jsonl`). */
export function inbox(sim: SimHandle, vm: string, name: 'trigger.jsonl' | 'command.jsonl'): Record<string, unknown>[] {
  const f = join(sim.stateDir(vm), 'inbox', name);
  if (!existsSync(f)) return [];
  // Complete lines only: a record may be being appended while this polls.
  return readFileSync(f, 'utf8').split('\n').slice(0, -1).filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}
