import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBuildConfig } from '../../../src/roles/build/config.js';
import { parsePillar } from '../../../src/roles/dom0/pillar.js';
import { qbuildBin } from '../../helpers/binary.js';
import { oneLineError } from '../../helpers/one-line-error.js';
import { run } from '../../helpers/run.js';
import { tempDirs } from '../../helpers/tmp.js';

const tmp = tempDirs('qb-pillar-github-');
const pillar = (top: string) => `build-infra:\n  build-envs:\n    a: {logs: logs}\n${top}`;
const errorOf = (text: string): string => oneLineError('pillar', () => parsePillar(text, 'p.yml'), 'pillar');

describe('pillar: reporting to GitHub (build_report_repo, build_issues_repo, github-report)', () => {
  it('provision writes the build VMs\' github section with the defaults filled in; the build role reads it back', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'p.yml'), pillar('  build_report_repo: QubesOS/updates-status\n  github-report:\n    logs-url: https://github.com/QubesOS/build-logs/blob/main\n'));
    const r = await run(qbuildBin(), ['provision', '--pillar', join(dir, 'p.yml'), '--out', join(dir, 'out')]);
    expect(r.code, r.stderr.toString()).toBe(0);
    const config = JSON.parse(readFileSync(join(dir, 'out', 'files', 'build-a', 'qbuild.json'), 'utf8'));
    const github = {
      apiUrl: 'https://api.github.com', tokenFile: '/rw/config/qbuild/github-token', statusRepo: 'QubesOS/updates-status',
      issuesRepo: 'QubesOS/qubes-issues', logsUrl: 'https://github.com/QubesOS/build-logs/blob/main', retryBaseMs: 1000, retryMaxMs: 300000,
    };
    expect(config.build.github).toEqual(github);
    expect(parseBuildConfig(config, '/home/user/qbuild').github).toEqual(github);
    // The token never passes through dom0: neither the formula nor the config carries one.
    expect(JSON.stringify(config)).not.toMatch(/ghp_|token"\s*:/);
  });

  it('no build_report_repo: reporting off, no github section', () => {
    expect(parsePillar(pillar(''), 'p.yml').githubReport).toBeUndefined();
    // Upstream's token key is still accepted and ignored (qbuild reads the token in the build qube).
    expect(parsePillar(pillar('  github_api_key: xyz\n'), 'p.yml').githubReport).toBeUndefined();
  });

  it('all keys given', () => {
    expect(parsePillar(pillar(`  build_report_repo: me/status
  build_issues_repo: me/issues
  github-report:
    api-url: https://ghe.example/api/v3
    token-file: /home/user/.config/gh-token
`), 'p.yml').githubReport).toEqual({
      apiUrl: 'https://ghe.example/api/v3', tokenFile: '/home/user/.config/gh-token', statusRepo: 'me/status', issuesRepo: 'me/issues',
      logsUrl: null, retryBaseMs: 1000, retryMaxMs: 300000,
    });
  });

  it.each([
    ['  build_report_repo: updates-status\n', /build-infra:build_report_repo: must be OWNER\/NAME as GitHub spells it$/],
    ['  build_report_repo: -x/y\n', /build_report_repo: must be OWNER\/NAME/],
    ['  build_report_repo: x/..\n', /build_report_repo: must be OWNER\/NAME/],
    ['  build_report_repo: a/b\n  build_issues_repo: a/b/c\n', /build_issues_repo: must be OWNER\/NAME/],
    ['  github-report: {logs-url: https://x}\n', /build-infra:github-report: set without build_report_repo/],
    ['  build_issues_repo: a/b\n', /build-infra:build_issues_repo: set without build_report_repo/],
    ['  build_report_repo: a/b\n  github-report: {api-url: http://api.github.com}\n', /github-report:api-url: must be an https:\/\/ URL \(http:\/\/ only to 127\.0\.0\.1, localhost or \[::1\]\)$/],
    ['  build_report_repo: a/b\n  github-report: {api-url: "https://u:p@api.github.com"}\n', /api-url: must not contain credentials/],
    ['  build_report_repo: a/b\n  github-report: {token-file: relative/token}\n', /github-report:token-file: must be an absolute path/],
    ['  build_report_repo: a/b\n  github-report: {logs-url: "ftp://x/y"}\n', /github-report:logs-url: must be an http\(s\) URL$/],
    ['  build_report_repo: a/b\n  github-report: {token: abc}\n', /github-report:token: unknown key/],
  ])('refuses %j, naming the key', (top, why) => {
    expect(errorOf(pillar(top))).toMatch(why);
  });

  it('the build role refuses a github section that does not follow the rules', () => {
    const base = {
      vm: 'build-a', env: 'a', build: {
        logsVm: 'logs', keysVm: 'keys-a', release: 'r4.3', dists: [], components: [], maintainerKeys: null, signKey: null,
        repository: 'repository', upload: {}, sshProxyVm: 'sys-net', remoteHosts: [], commandsPublicKeys: null,
      },
    };
    const g = { apiUrl: 'https://api.github.com', tokenFile: '/t', statusRepo: 'a/b', issuesRepo: 'a/c', logsUrl: null, retryBaseMs: 1000, retryMaxMs: 2000 };
    const bad = (github: unknown) => oneLineError('config', () => parseBuildConfig({ ...base, build: { ...base.build, github } }, '/s'), 'config');
    expect(parseBuildConfig({ ...base, build: { ...base.build, github: null } }, '/s').github).toBeUndefined();
    expect(bad({ ...g, retryMaxMs: 10 })).toMatch(/build\.github\.retryMaxMs: must be a whole number of milliseconds from 1000 to 86400000$/);
    expect(bad({ ...g, statusRepo: 'nope' })).toMatch(/github\.statusRepo: must be OWNER\/NAME/);
    expect(bad({ ...g, extra: 1 })).toMatch(/github\.extra: unknown key/);
    const { logsUrl: _l, ...missing } = g;
    expect(bad(missing)).toMatch(/github\.logsUrl: missing/);
  });
});
