import { describe, expect, it } from 'vitest';
import { authorise, parseCommandsSection, type CommandsSectionJson } from '../../../../src/protocol/github/command/authorisation.js';
import { timestampRefusal } from '../../../../src/protocol/github/command/freshness.js';
import { parseCommandLine } from '../../../../src/protocol/github/command/grammar.js';
import { oneLineError } from '../../../helpers/one-line-error.js';

const A = 'A'.repeat(40);
const B = 'B'.repeat(40);
const C = '0123456789abcdef0123456789abcdef01234567';
const section: CommandsSectionJson = parseCommandsSection({
  maintainers: {
    [A]: { components: '_all_', distributions: '_all_', templates: '_all_', iso: true },
    [B]: { components: ['core-qrexec'], distributions: ['vm-fc42'], templates: ['debian-12'], iso: false },
  },
});
const DISTS = ['host-fc41', 'vm-fc42'];
const up = (rest: string) => parseCommandLine(`Upload-component r4.3 core-qrexec ${C} current ${rest}`);

describe('authorise (upstream maintainers: components, distributions, templates, iso)', () => {
  it('grants _all_ and resolves all to the env\'s dists', () => {
    expect(authorise(up('all'), A, section, DISTS)).toMatchObject({ dists: ['host-fc41', 'vm-fc42'] });
    expect(authorise(parseCommandLine('Build-iso r4.3 4.3.0 202612020130'), A, section, DISTS)).toMatchObject({ kind: 'build-iso' });
  });

  it('limits all to the granted dists and refuses an ungranted one', () => {
    expect(authorise(up('all'), B, section, DISTS)).toMatchObject({ dists: ['vm-fc42'] });
    expect(authorise(up('host-fc41'), B, section, DISTS)).toBe(`signer ${B} may not upload to dist host-fc41`);
    expect(authorise(up('vm-fc42'), B, section, ['host-fc41'])).toMatch(/dist vm-fc42 is not built by this env/);
    expect(authorise(up('all'), B, section, ['host-fc41'])).toMatch(/may upload to none of this env's dists/);
  });

  it('refuses an unlisted signer, an ungranted component, template or ISO', () => {
    expect(authorise(up('all'), 'C'.repeat(40), section, DISTS)).toMatch(/is not a maintainer allowed to sign commands/);
    expect(authorise(parseCommandLine(`Upload-component r4.3 linux-utils ${C} current all`), B, section, DISTS)).toMatch(/may not upload component linux-utils/);
    expect(authorise(parseCommandLine('Build-template r4.3 fedora-42 202612020130'), B, section, DISTS)).toMatch(/may not build or upload template fedora-42/);
    expect(authorise(parseCommandLine('Upload-template r4.3 debian-12 4.3.0-202612020130 templates-itl'), B, section, DISTS)).toMatchObject({ kind: 'upload-template' });
    expect(authorise(parseCommandLine('Build-iso r4.3 4.3.0 202612020130'), B, section, DISTS)).toMatch(/may not build the ISO/);
  });

  it('reads the section strictly', () => {
    expect(parseCommandsSection(undefined)).toEqual({ maintainers: {} });
    expect(oneLineError('config', () => parseCommandsSection({ maintainers: { [A.toLowerCase()]: {} } }))).toMatch(/upper-case 40-hex/);
    expect(oneLineError('config', () => parseCommandsSection({ maintainers: { [A]: { components: 'all', distributions: [], templates: [], iso: false } } }))).toMatch(/"_all_" or a list/);
    expect(oneLineError('config', () => parseCommandsSection({ maintainers: {}, extra: 1 }))).toMatch(/extra: unknown key/);
  });
});

describe('timestampRefusal (upstream github-command.py window)', () => {
  const now = new Date('2026-12-02T02:00:00Z');
  it('windows Build-template and Build-iso to [now - 1 h, now + 5 min], not Upload-template', () => {
    expect(timestampRefusal(parseCommandLine('Build-template r4.3 t 202612020100'), now)).toBeUndefined();
    expect(timestampRefusal(parseCommandLine('Build-template r4.3 t 202612020059'), now)).toMatch(/outside the allowed window \[2026-12-02T01:00:00.000Z, 2026-12-02T02:05:00.000Z\]/);
    expect(timestampRefusal(parseCommandLine('Build-iso r4.3 4.3 202612020205'), now)).toBeUndefined();
    expect(timestampRefusal(parseCommandLine('Build-iso r4.3 4.3 202612020206'), now)).toMatch(/outside/);
    expect(timestampRefusal(parseCommandLine('Upload-template r4.3 t 4.3-202601010000 templates-itl'), now)).toBeUndefined();
  });
});
