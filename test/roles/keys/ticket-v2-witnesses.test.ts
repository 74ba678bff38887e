import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../helpers/run.js';
import { waitFor } from '../../helpers/wait.js';
import { startWitness, type TestWitness } from '../../helpers/witness.js';
import { startLogsSim, type LogsSim } from '../logs/logs-sim.js';
import { editVmConfig } from '../../helpers/sim.js';

const ORIGIN = 'qbuild.logs/logs';
let sim: LogsSim;
let witnesses: TestWitness[] = [];
let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qb-witnesses-'));
  witnesses = await Promise.all(['witness.one.example', 'witness.two.example'].map((name) => startWitness({ name, dir: join(dir, name) })));
  sim = await startLogsSim({ witnesses: witnesses.map((w) => ({ url: w.url, vkey: w.vkey })), witnessTimeoutMs: 2000 }, (formula) => {
    editVmConfig(formula, 'keys-fedora', (c) => { Object.assign(c.keys, { witnesses: witnesses.map((w) => w.vkey), witnessQuorum: 2 }); });
  });
  for (const w of witnesses) w.trust(ORIGIN, sim.verifierKey);
}, 60_000);
afterAll(async () => {
  await sim?.down();
  for (const w of witnesses) await w.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

const keysLog = (): string => { try { return readFileSync(join(sim.stateDir('keys-fedora'), 'keys.log'), 'utf8'); } catch { return ''; } };
async function sendLog(tag: string): Promise<string> {
  const r = await sim.call('build-fedora', 'dom0', 'qubesbuilder.BuildLog', { stdin: `build ${tag}\nqbuild-sign sha256:${'cd'.repeat(32)} ${tag}.rpm\nqbuild-log-end\n` });
  expect(r.code, r.stderr.toString()).toBe(0);
  return r.stdout.toString().trim();
}
const verdict = (path: string) => waitFor(`keys-fedora's verdict on ${path}`, () => keysLog().split('\n').find((l) => l.includes(path)), 30_000);

describe('witness quorum through the simulator: the logs VM collects cosignatures (test witnesses on loopback), the keys VM counts them', () => {
  it('accepts a checkpoint both witnesses cosigned; refuses, naming the count, when one witness is down', async () => {
    const first = await sendLog('first');
    expect(await verdict(first)).toMatch(/accepted .* v2 leaf=0 checkpoint=1$/);
    const committed = (await run('git', ['-C', sim.store, 'show', 'main:checkpoint'])).stdout.toString();
    for (const w of witnesses) expect(committed).toContain(`\u2014 ${w.name} `);
    expect(witnesses.map((w) => w.held(ORIGIN))).toEqual([1, 1]);

    await witnesses[1]!.close();
    const second = await sendLog('second');
    expect(await verdict(second)).toMatch(/refused ticket for \S+: witness quorum not met: 1 of the 2 configured witnesses cosigned checkpoint 2, 2 required$/);
    // The held checkpoint is still the first one.
    expect(readFileSync(join(sim.stateDir('keys-fedora'), 'ledger', 'checkpoint'), 'utf8')).toMatch(/^qbuild\.logs\/logs\n1\n/);
  }, 90_000);
});
