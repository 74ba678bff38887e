import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { qbuildBin, repoRoot } from '../../helpers/binary.js';
import { run } from '../../helpers/run.js';

const example = join(repoRoot, 'examples/pillar.yml');
/** The example pillar has no logs-public-keys yet: provision warns, naming the key ceremony. */
const NO_LOGS_KEY = `qbuild: warning: ${example}: build-infra:logs-public-keys:logs: missing: keys-fedora, keys-debian cannot verify tickets, nothing will be signed; `
  + 'in the logs qube logs run `qbuild role logs init --pillar-lines`, paste its output under build-infra: and provision again\n';
let dir: string;
let bin: string;

beforeAll(() => {
  bin = qbuildBin();
  dir = mkdtempSync(join(tmpdir(), 'qbprov-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const provision = (args: string[], env: NodeJS.ProcessEnv = process.env) => run(bin, ['provision', ...args], { env, cwd: dir });
const pillarFile = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('qbuild provision (built binary)', () => {
  it.each([
    ['missing logs VM', 'build-infra:\n  build-envs:\n    fedora:\n      volume-size: 20GiB\n', 'build-infra:build-envs:fedora:logs: missing'],
    ['bad VM name', 'build-infra:\n  build-envs:\n    fedora:\n      logs: "-logs"\n', 'build-infra:build-envs:fedora:logs: invalid VM name'],
    ['unknown key', 'build-infra:\n  build-envs:\n    fedora:\n      logs: logs\n      colour: red\n', 'build-infra:build-envs:fedora:colour: unknown key'],
    ['duplicate key', 'build-infra:\n  build-envs:\n    fedora:\n      logs: logs\n    fedora:\n      logs: logs\n', 'line 5: duplicate key "fedora"'],
    ['not YAML', 'build-infra:\n  build-envs: {fedora: [\n', 'not valid YAML'],
    ['wrong type', 'build-infra:\n  build-envs:\n    fedora:\n      logs: logs\n      components: core-qrexec\n', 'components: must be a list of strings'],
    ['component without settings', 'build-infra:\n  build-envs:\n    fedora:\n      logs: logs\n      dists: [vm-fc42]\n      sign-key: CD2EE445064D70E064CF01E59374892A378E57D5\n      components: [c1]\n',
      'build-infra:build-envs:fedora:components: "c1" has no settings under build-infra:components'],
    ['bad dist', 'build-infra:\n  build-envs:\n    fedora:\n      logs: logs\n      dists: [vm-fedora]\n', 'build-infra:build-envs:fedora:dists: "vm-fedora": unknown distribution'],
  ])('refuses a pillar with %s: one line, exit 2', async (name, text, message) => {
    const r = await provision(['--pillar', pillarFile(`${name.replace(/ /g, '-')}.yml`, text), '--out', join(dir, 'never')]);
    expect(r.code).toBe(2);
    expect(r.stdout.toString()).toBe('');
    expect(r.stderr).toMatch(/^qbuild: dom0: [^\n]+\n$/);
    expect(r.stderr).toContain(message);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('refuses maintainer keys that do not hold a named maintainer: one line, exit 2 (openpgp in the executable)', async () => {
    const text = readFileSync(example, 'utf8').replace(/maintainers: \[9395EB7275A9ABC9289EFAC3A780E77588F3D253\]/, `maintainers: [${'A'.repeat(40)}]`);
    const r = await provision(['--pillar', pillarFile('no-maintainer.yml', text), '--out', join(dir, 'never')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`qbuild: dom0: ${join(dir, 'no-maintainer.yml')}: build-infra:components:core-qrexec:maintainers: ${'A'.repeat(40)} is not the fingerprint of a key in build-infra:maintainer-keys\n`);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('refuses a pillar it cannot read with exit 2', async () => {
    const r = await provision(['--pillar', join(dir, 'nope.yml'), '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^qbuild: dom0: cannot read pillar .*nope\.yml: ENOENT\n$/);
  });

  it('--dry-run prints the plan table and the policy lines, writes nothing', async () => {
    const r = await provision(['--pillar', example, '--dry-run', '--out', join(dir, 'dry')]);
    expect(r.code).toBe(0);
    const out = r.stdout.toString();
    const lines = out.split('\n');
    expect(lines[0]!.split(/\s{2,}/)).toEqual(['VM', 'ROLE', 'LABEL', 'TEMPLATE', 'NETVM', 'SERVICES', 'DAEMONS']);
    const rows = lines.slice(1, 7).map((l) => l.split(/\s{2,}/));
    expect(rows).toEqual([
      ['build-fedora', 'build', 'green', 'fedora-43-xfce', 'sys-whonix', 'qubesbuilder.TriggerBuild,qubesbuilder.ProcessGithubCommand', 'role build --serve'],
      ['keys-fedora', 'keys', 'black', 'fedora-43-minimal', 'none', 'qubes.Gpg,qubesbuilder.LogReceived', '-'],
      ['build-debian', 'build', 'green', 'fedora-43-xfce', 'sys-whonix', 'qubesbuilder.TriggerBuild,qubesbuilder.ProcessGithubCommand', 'role build --serve'],
      ['keys-debian', 'keys', 'black', 'fedora-43-minimal', 'none', 'qubes.Gpg,qubesbuilder.LogReceived', '-'],
      ['logs', 'logs', 'green', 'fedora-43-xfce', 'sys-firewall', 'qubesbuilder.BuildLog', 'role logs --serve'],
      ['sys-net', 'sysnet', '-', '(existing)', '-', 'local.ConnectSSH', 'role sysnet --serve'],
    ]);
    // Columns are aligned: every row starts its second column at the same offset.
    const col = lines[0]!.indexOf('ROLE');
    for (const l of lines.slice(1, 7)) expect(l[col - 1]).toBe(' '), expect(l[col]).not.toBe(' ');
    expect(out).toContain('\npolicy /etc/qubes/policy.d/30-qbuild.policy:\n  qubesbuilder.BuildLog * build-fedora dom0 allow target=logs\n');
    expect(out).toContain('  local.ConnectSSH * @anyvm dom0 deny\n');
    expect(existsSync(join(dir, 'dry'))).toBe(false);
  });

  it('writes the formula: plan, policy, stubs, configs, binary, salt, pillar', async () => {
    const out = join(dir, 'formula');
    const r = await provision(['--pillar', example, '--out', out]);
    expect(r.stderr).toBe(NO_LOGS_KEY);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toMatch(/^wrote .*formula: 6 qubes, \d+ files\n/);
    const plan = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8'));
    expect(plan.format).toBe('qbuild-plan-1');
    expect(readFileSync(join(out, 'policy.d/30-qbuild.policy'), 'utf8')).toBe(plan.policy.text);
    for (const vm of plan.vms) {
      for (const service of vm.services) {
        const stub = join(out, 'files', vm.name, 'qubes-rpc', service);
        expect(statSync(stub).mode & 0o777).toBe(0o755);
        expect(readFileSync(stub, 'utf8')).toBe(`#!/bin/sh\nexec "\${QBUILD_BIN:-/usr/local/bin/qbuild}" rpc ${service} "$@"\n`);
      }
      expect(JSON.parse(readFileSync(join(out, 'files', vm.name, 'qbuild.json'), 'utf8'))).toEqual(vm.config);
      expect(existsSync(join(out, 'salt/qbuild/vms', `${vm.name}.sls`))).toBe(true);
    }
    // Run as the single executable: it copies itself.
    expect(statSync(join(out, 'files/qbuild')).size).toBe(statSync(bin).size);
    expect(statSync(join(out, 'files/qbuild')).mode & 0o777).toBe(0o755);
    const top = parse(readFileSync(join(out, 'salt/qbuild.top'), 'utf8'));
    expect(Object.keys(top.base)).toEqual(['dom0', ...plan.vms.map((v: { name: string }) => v.name), 'fedora-43-xfce']);
    expect(top.base['fedora-43-xfce']).toEqual(['qbuild.templates.build']);
    expect(existsSync(join(out, 'salt/qbuild/templates/build.sls'))).toBe(true);
    // The build qubes' ~/.ssh, as the plan has it, with ssh's modes.
    for (const vm of plan.vms.filter((v: { role: string }) => v.role === 'build')) {
      const ssh = join(out, 'files', vm.name, 'home/.ssh');
      expect(vm.homeFiles.map((f: { path: string }) => f.path)).toEqual(['.ssh/config', '.ssh/known_hosts']);
      expect(readFileSync(join(ssh, 'config'), 'utf8')).toBe(vm.homeFiles[0].text);
      expect(readFileSync(join(ssh, 'config'), 'utf8')).toContain('ProxyCommand qrexec-client-vm sys-net local.ConnectSSH+%h\n');
      expect(statSync(join(ssh, 'config')).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(ssh, 'known_hosts'), 'utf8')).toMatch(/^yum\.qubes-os\.org ssh-rsa AAAA/);
      // The build section carries the maintainer keys as one armored block, and the settings.
      const build = JSON.parse(readFileSync(join(out, 'files', vm.name, 'qbuild.json'), 'utf8')).build;
      expect(build.maintainerKeys.match(/-----BEGIN PGP PUBLIC KEY BLOCK-----/g)).toHaveLength(1);
      expect(build.signKey).toBe('CD2EE445064D70E064CF01E59374892A378E57D5');
    }
    expect(parse(readFileSync(join(out, 'pillar/qbuild.top'), 'utf8'))).toEqual({ base: { dom0: ['qbuild'] } });

    // A second run replaces the formula in place.
    const again = await provision(['--pillar', example, '--out', out]);
    expect(again.code).toBe(0);
  });

  it('refuses to write into a non-empty directory that is not a formula', async () => {
    const other = join(dir, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'precious'), 'x');
    const r = await provision(['--pillar', example, '--out', other]);
    expect(r.code).toBe(1);
    expect(r.stderr.toString().replace(NO_LOGS_KEY, '')).toMatch(/^qbuild: dom0: .*other is not empty and holds no plan\.json: refusing to write a formula there\n$/);
    expect(readFileSync(join(other, 'precious'), 'utf8')).toBe('x');
  });

  it('--apply without qubesctl says so in one line and writes nothing', async () => {
    const r = await provision(['--pillar', example, '--apply', '--out', join(dir, 'noapply')], { PATH: '/nonexistent' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`${NO_LOGS_KEY}qbuild: dom0: qubesctl not found: --apply runs in dom0 only (without --apply the formula is just written)\n`);
    expect(existsSync(join(dir, 'noapply'))).toBe(false);
  });
});
