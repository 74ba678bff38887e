import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseSignerKey, verifierKeyOf } from '../../../../src/protocol/note/note.js';
import { qbuildBin, repoRoot } from '../../../helpers/binary.js';
import { run } from '../../../helpers/run.js';
import { freePort } from '../../../helpers/net.js';
import { editVmConfig } from '../../../helpers/sim.js';
import { tempDirs } from '../../../helpers/tmp.js';

// `sim up` on the example pillar as a new user runs it: what an operator would create inside
// the qubes is created inside the simulated ones, listeners stay on loopback, and a daemon
// that cannot start fails `sim up` with its own message. All through the built binary.
const tmp = tempDirs('qbboot-');
const running: string[] = [];
afterEach(async () => { for (const f of running.splice(0)) await run(qbuildBin(), ['sim', 'down', '--formula', f]); });

async function provisioned(): Promise<string> {
  const formula = join(tmp(), 'formula');
  const r = await run(qbuildBin(), ['provision', '--pillar', join(repoRoot, 'examples', 'pillar.yml'), '--out', formula]);
  expect(r.code, r.stderr).toBe(0);
  return formula;
}

async function up(formula: string) {
  running.push(formula);
  return run(qbuildBin(), ['sim', 'up', '--formula', formula], { env: { ...process.env, QBUILD_BIN: qbuildBin() } });
}

const sim = (formula: string, args: string[]) => run(qbuildBin(), ['sim', ...args, '--formula', formula]);

describe('sim up on examples/pillar.yml', () => {
  it('creates the webhook secret and the ticket key in the qubes, hands the verifier key to the keys qubes, binds loopback', async () => {
    const formula = await provisioned();
    const r = await up(formula);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout.toString();
    const sysnet = join(formula, 'qubes', 'sys-net');
    // The pillar's /rw/config path, taken inside sys-net's qube dir, never the host's.
    const secret = join(sysnet, 'root', 'rw', 'config', 'qbuild', 'webhook-secret');
    expect(out).toContain(`sys-net: created a random webhook secret in ${secret} (0600)`);
    expect(readFileSync(secret, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    expect(statSync(secret).mode & 0o777).toBe(0o600);
    expect(existsSync('/rw/config/qbuild/webhook-secret')).toBe(false);
    const noteKey = join(formula, 'qubes', 'logs', 'state', 'note.key');
    expect(out).toContain(`logs: created the ticket signing key ${noteKey}`);
    expect(statSync(noteKey).mode & 0o777).toBe(0o600);
    const verifier = verifierKeyOf(parseSignerKey(readFileSync(noteKey, 'utf8').trim()));
    expect(out).toContain(`logs: gave its ticket verifier key to keys-fedora, keys-debian (${verifier})`);
    for (const k of ['keys-fedora', 'keys-debian']) {
      expect(JSON.parse(readFileSync(join(formula, 'qubes', k, 'qbuild.json'), 'utf8')).keys.logsPublicKey).toBe(verifier);
    }
    // 0.0.0.0:80 is for the real sys-net: here 127.0.0.1 on a free port, printed.
    expect(out).toContain('sys-net: listens on 127.0.0.1 (a free port) instead of 0.0.0.0:80');
    const bound = readFileSync(join(sysnet, 'state', 'sysnet', 'listening'), 'utf8').trim();
    expect(bound).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(bound).not.toBe('127.0.0.1:80');
    expect(out).toMatch(new RegExp(`^  sys-net .*\\(webhook http://${bound.replace(/\./g, '\\.')}/\\)$`, 'm'));
    // The webhook listener answers there (a GET is not a delivery: refused, but served).
    const res = await fetch(`http://${bound}/`);
    expect(res.status).toBeGreaterThanOrEqual(400);

    const st = await sim(formula, ['status']);
    expect(st.code, st.stderr).toBe(0);
    const lines = st.stdout.toString();
    expect(lines).toMatch(/^simulator running: /);
    for (const [vm, argv] of [['build-fedora', 'role build --serve'], ['build-debian', 'role build --serve'], ['logs', 'role logs --serve'], ['sys-net', 'role sysnet --serve']]) {
      expect(lines).toMatch(new RegExp(`^  ${vm} +${argv} +running pid \\d+, restarts 0`, 'm'));
    }
    expect(lines).toContain(`webhook http://${bound}/`);

    // A second boot keeps what the first one made, and says nothing about creating it.
    expect((await sim(formula, ['down'])).code).toBe(0);
    const again = await up(formula);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.toString()).not.toContain('created');
    expect(verifierKeyOf(parseSignerKey(readFileSync(noteKey, 'utf8').trim()))).toBe(verifier);
  }, 60_000);

  it('puts the webhook listener and the live view on the ports given; a bad port is refused in one line', async () => {
    const formula = await provisioned();
    const bad = await run(qbuildBin(), ['sim', 'up', '--formula', formula, '--webhook-port', '70000']);
    expect(bad.stderr).toBe('qbuild: sim: --webhook-port must be a port 0-65535, not "70000"\n');
    expect(bad.code).toBe(2);
    const [webhook, live] = [await freePort(), await freePort()];
    running.push(formula);
    const r = await run(qbuildBin(), ['sim', 'up', '--formula', formula, '--webhook-port', String(webhook), '--live-view-port', String(live)],
      { env: { ...process.env, QBUILD_BIN: qbuildBin() } });
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout.toString();
    expect(out).toMatch(new RegExp(`^  sys-net .*\\(webhook http://127\\.0\\.0\\.1:${webhook}/\\)$`, 'm'));
    expect(out).toMatch(new RegExp(`^  logs .*\\(live view http://127\\.0\\.0\\.1:${live}/\\)$`, 'm'));
    expect(out).not.toContain('instead of 0.0.0.0:80');
    expect((await fetch(`http://127.0.0.1:${live}/`)).status).toBe(200);
  }, 60_000);

  it('fails with the daemon\'s own message when one cannot start, and stops the simulator', async () => {
    const formula = await provisioned();
    // 192.0.2.1 (TEST-NET-1) is no address of this machine: sys-net cannot bind it.
    editVmConfig(formula, 'sys-net', (c) => { c.sysnet.listen = '192.0.2.1:8080'; });
    const r = await up(formula);
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^qbuild: sim: sys-net: role sysnet --serve exited at start: .*cannot listen on 192\.0\.2\.1:8080/);
    expect(r.stdout.toString()).not.toContain('simulator up');
    const st = await sim(formula, ['status']);
    expect(st.stdout.toString()).toMatch(/^simulator not running: /);
    expect(st.stdout.toString()).toMatch(/^  sys-net +role sysnet --serve +not running, restarts [1-9]/m);
  }, 60_000);
});
