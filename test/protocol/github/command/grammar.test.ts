import { describe, expect, it } from 'vitest';
import { formatCommand, parseCommandLine, timestampDate } from '../../../../src/protocol/github/command/grammar.js';
import { oneLineError } from '../../../helpers/one-line-error.js';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';

describe('parseCommandLine', () => {
  it('parses the four commands into their union members, and formatCommand gives the line back', () => {
    const lines = [
      `Upload-component r4.3 core-qrexec ${COMMIT} current all`,
      `Upload-component r4.3 core-qrexec ${COMMIT} security-testing host-fc41 vm-bookworm`,
      'Build-template r4.3 fedora-42-xfce 202612020130',
      'Upload-template r4.3 debian-12-minimal 4.3.0-202612020130 templates-community',
      'Build-iso r4.3 4.3.0-rc1 202612020130',
    ];
    const parsed = lines.map(parseCommandLine);
    expect(parsed[0]).toEqual({ kind: 'upload-component', release: 'r4.3', component: 'core-qrexec', commit: COMMIT, repository: 'current', dists: 'all' });
    expect(parsed[1]).toMatchObject({ repository: 'security-testing', dists: ['host-fc41', 'vm-bookworm'] });
    expect(parsed[2]).toEqual({ kind: 'build-template', release: 'r4.3', template: 'fedora-42-xfce', timestamp: '202612020130' });
    expect(parsed[3]).toEqual({ kind: 'upload-template', release: 'r4.3', template: 'debian-12-minimal', version: '4.3.0', timestamp: '202612020130', repository: 'templates-community' });
    expect(parsed[4]).toEqual({ kind: 'build-iso', release: 'r4.3', version: '4.3.0-rc1', timestamp: '202612020130' });
    expect(parsed.map(formatCommand)).toEqual(lines);
  });

  it.each([
    ['', /empty/],
    [`Upload-component r4.3 a ${COMMIT} current ${'vm-fc42 '.repeat(40)}all`, /longer than 255/],
    ['Build-template r4.3 fedora-42 202612020130\t', /invalid character/],
    ['Build-template r4.3 fedora/42 202612020130', /invalid character/],
    [' Build-template r4.3 fedora-42 202612020130', /leading or trailing/],
    ['Build-template r4.3 fedora-42 202612020130 ', /leading or trailing/],
    ['Build-template r4.3  fedora-42 202612020130', /double space/],
    ['Build-template r4.3 -fedora 202612020130', /starts with "-"/],
    ['- Build-template r4.3 fedora 202612020130', /starts with "-"/],
    ['Build-component r4.3 core-qrexec', /unknown command/],
    [`Upload-component r4.3 core.qrexec ${COMMIT} current all`, /component/],
    [`Upload-component r4.3 core-qrexec ${COMMIT.toUpperCase()} current all`, /40-hex/],
    [`Upload-component r4.3 core-qrexec ${COMMIT.slice(1)} current all`, /40-hex/],
    [`Upload-component r4.3 core-qrexec ${COMMIT} stable all`, /unsupported repository/],
    [`Upload-component r4.3 core-qrexec ${COMMIT} current`, /at least 5/],
    [`Upload-component r4.3 core-qrexec ${COMMIT} current all vm-fc42`, /"all" cannot/],
    [`Upload-component r4.3 core-qrexec ${COMMIT} current vm-fc42 vm-fc42`, /twice/],
    [`Upload-component r4.3 core-qrexec ${COMMIT} current fc42`, /host-<dist> or vm-<dist>/],
    [`Upload-component 4.3 core-qrexec ${COMMIT} current all`, /release/],
    ['Build-template r4.3 fedora.42 202612020130', /template name/],
    ['Build-template r4.3 fedora-42 20261202013', /12 decimal digits/],
    ['Build-template r4.3 fedora-42 202613020130', /not a real date/],
    ['Build-template r4.3 fedora-42 202602300130', /not a real date/],
    ['Build-template r4.3 fedora-42 202612022460', /not a real date/],
    ['Build-template r4.3 fedora-42', /takes 3 arguments/],
    ['Upload-template r4.3 debian-12 202612020130 templates-itl', /VERSION-YYYYmmddHHMM/],
    ['Upload-template r4.3 debian-12 4.3.0-202612020130 templates', /unsupported repository/],
    ['Build-iso r4.3 4..3 202612020130', /iso version/],
  ])('refuses %j', (line, why) => {
    expect(oneLineError('bad-input', () => parseCommandLine(line))).toMatch(why);
  });

  it('reads a timestamp as a UTC minute', () => {
    expect(timestampDate('202612020130').toISOString()).toBe('2026-12-02T01:30:00.000Z');
  });
});
