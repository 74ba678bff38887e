import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qbuildBin, repoRoot } from '../helpers/binary.js';
import { run } from '../helpers/run.js';
import { startSim, type SimHandle } from '../helpers/sim.js';

// What a new user meets when the simulator is used in the wrong order or with a wrong name.
describe('qbuild sim errors', () => {
  let dir: string;
  let formula: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qbuild-sim-errors-'));
    formula = join(dir, 'formula');
    const prov = await run(qbuildBin(), ['provision', '--pillar', join(repoRoot, 'examples', 'pillar.yml'), '--out', formula]);
    expect(prov.code, prov.stderr).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('call, halt and start before sim up say to run sim up first (exit 125), and touch no qube', async () => {
    const msg = `qbuild: sim: no simulator running for ${formula}: run qbuild sim up --formula ${formula} first\n`;
    for (const args of [['call', '--from', 'build-fedora', 'logs', 'qbuild.Noop'], ['halt', 'logs'], ['start', 'logs']]) {
      const r = await run(qbuildBin(), ['sim', ...args, '--formula', formula]);
      expect(r.stderr, args.join(' ')).toBe(msg);
      expect(r.code, args.join(' ')).toBe(125);
    }
    expect(readdirSync(formula)).not.toContain('qubes');
  });

  describe('with the simulator up', () => {
    let sim: SimHandle;
    beforeAll(async () => { sim = await startSim({ daemons: false }); }, 60_000);
    afterAll(async () => { await sim?.down(); });
    const simCall = (args: string[]) => run(sim.bin, ['sim', 'call', '--formula', sim.dir, ...args]);

    it('--from a qube the plan does not have is "no such qube X" (exit 2)', async () => {
      const r = await simCall(['--from', 'build-fedorra', 'logs', 'qbuild.Noop']);
      expect(r.stderr).toBe(`qbuild: sim: no such qube build-fedorra in ${sim.dir}\n`);
      expect(r.code).toBe(2);
      const halt = await run(sim.bin, ['sim', 'halt', '--formula', sim.dir, 'nosuch']);
      expect(halt.stderr).toBe(`qbuild: sim: no such qube nosuch in ${sim.dir}\n`);
      expect(halt.code).toBe(2);
    });

    it('too many arguments to sim call are reported as too many, too few as too few', async () => {
      const many = await simCall(['--from', 'build-fedora', 'logs', 'qbuild.Noop', 'extra']);
      expect(many.stderr).toBe('qbuild: sim: sim call takes TARGET SERVICE[+ARG]; too many arguments: extra\n');
      expect(many.code).toBe(2);
      const few = await simCall(['--from', 'build-fedora', 'logs']);
      expect(few.stderr).toBe('qbuild: sim: sim call needs TARGET SERVICE[+ARG]\n');
      expect(few.code).toBe(2);
    });

    it('BuildLog+bad/arg is bad input (exit 2), refused before any call reaches the router', async () => {
      const bad = await simCall(['--from', 'build-fedora', 'logs', 'qubesbuilder.BuildLog+bad/arg']);
      expect(bad.stderr).toBe('qbuild: sim: invalid service argument "bad/arg": allowed characters are A-Z a-z 0-9 _ . -\n');
      expect(bad.code).toBe(2);
      expect(sim.routerLog()).not.toMatch(/bad\/arg/);
    });
  });
});
