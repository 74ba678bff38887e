import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { repoRoot } from '../../../helpers/binary.js';
import { TestSigner } from '../../../helpers/gpg.js';
import { editVmConfig, startSim, type SimHandle } from '../../../helpers/sim.js';
import { waitFor } from '../../../helpers/wait.js';
import { githubExample } from '../../../protocol/github/fixtures.js';
import { deliver, listenerPort, SECRET } from '../../sysnet/sim-helpers.js';

/**
 * Commands delivered the real way: a signed issue_comment webhook to sys-net's listener,
 * forwarded to ProcessGithubCommand; the verdict read from the command log the logs qube
 * stored. (The full Upload-component run is the promotion's end-to-end test.)
 */
const VM = 'build-fedora';
const C = '0123456789abcdef0123456789abcdef01234567';
const COMMENT = '/github-hooks/process-comment';

let sim: SimHandle;
let maint: TestSigner;
let port: number;

beforeAll(async () => {
  maint = new TestSigner();
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(maint.gpgSync(['--with-colons', '--list-keys']))![1]!;
  const pillar = parse(readFileSync(join(repoRoot, 'examples', 'pillar.yml'), 'utf8')) as { 'build-infra': Record<string, unknown> };
  pillar['build-infra'].commands_public_keys = maint.gpgSync(['--armor', '--export']);
  pillar['build-infra']['command-maintainers'] = { [fpr]: { components: '_all_', distributions: '_all_' } };
  sim = await startSim({
    pillar: stringify(pillar),
    configure: (dir) => {
      const secretFile = join(dir, 'webhook-secret');
      writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
      editVmConfig<{ sysnet: Record<string, unknown> }>(dir, 'sys-net', (c) => {
        c.sysnet = { ...c.sysnet, listen: '127.0.0.1:0', secretFile, retryBaseMs: 100, retryMaxMs: 400 };
      });
    },
  });
  // core-qrexec built at C, as a finished build records it (ten days in current-testing).
  const built = join(sim.stateDir(VM), 'build', 'built');
  mkdirSync(built, { recursive: true });
  const rec = { version: '4.3.1-1', commit: C, at: new Date(Date.now() - 10 * 86_400_000).toISOString(), job: 'seeded', files: ['qubes-core-qrexec-4.3.1-1.fc42.x86_64.rpm'] };
  writeFileSync(join(built, 'core-qrexec.json'), JSON.stringify({ 'vm-fc42': rec }));
  port = await listenerPort(sim);
}, 120_000);
afterAll(async () => {
  await sim?.down();
  maint?.cleanup();
});

const commandLogs = (): string[] => {
  const dir = join(sim.stateDir('logs'), 'store', VM, 'commands');
  try {
    return readdirSync(dir).filter((n) => n.startsWith('log_')).sort().map((n) => readFileSync(join(dir, n), 'utf8'));
  } catch {
    return [];
  }
};

async function comment(body: string): Promise<string> {
  const verdicts = () => commandLogs().filter((l) => l.includes('verdict: '));
  const before = verdicts().length;
  const c = githubExample('issue_comment', 'created');
  (c.comment as Record<string, unknown>).body = body;
  expect((await deliver(port, COMMENT, 'issue_comment', JSON.stringify(c), randomUUID())).status).toBe(202);
  const all = await waitFor('the command log entry', () => {
    const now = verdicts();
    return now.length > before ? now : undefined;
  }, 60_000);
  return all.at(-1)!;
}

describe('signed comments through sys-net to ProcessGithubCommand', () => {
  it('GitHub\'s mangling (CRLF line ends, trailing spaces on every line) still verifies: accepted', async () => {
    const block = maint.clearsign(`Upload-component r4.3 core-qrexec ${C} current vm-fc42\n`);
    const body = `Ready:  \r\n\r\n${block.split('\n').map((l) => `${l}   `).join('\r\n')}\r\n`;
    const log = await comment(body);
    expect(log).toContain(`received: Upload-component r4.3 core-qrexec ${C} current vm-fc42`);
    expect(log).toMatch(/verdict: accepted\n/);
    // The same comment posted again (a new delivery, so sys-net forwards it): a replay.
    expect(await comment(body)).toMatch(/verdict: refused: replay: this signature \(sha256 [0-9a-f]{64}\) was accepted before\n/);
  }, 90_000);

  it('a comment with two signed blocks is refused with its reason and no job', async () => {
    const a = maint.clearsign(`Upload-component r4.3 core-qrexec ${C} security-testing vm-fc42\n`);
    const b = maint.clearsign('Upload-component r4.3 linux-utils 0000000000000000000000000000000000000000 current all\n');
    const log = await comment(`first\r\n${a}\r\nand also\r\n${b}`);
    expect(log).toContain('received: and also');
    expect(log).toMatch(/verdict: refused: not a canonical signed command: more than one signed block/);
    expect(log).not.toMatch(/\bjob: /);
  }, 90_000);
});
