import { oneLineError } from '../../helpers/one-line-error.js';
import { describe, expect, it } from 'vitest';
import { generateNoteKey } from '../../../src/protocol/note/note.js';
import { missingLogsKeyWarnings, parsePillar } from '../../../src/roles/dom0/pillar.js';

const pillar = (envs: string, keys = '') => `build-infra:\n  build-envs: ${envs}\n${keys}`;

const errorOf = (text: string): string => oneLineError('pillar', () => parsePillar(text, 'p.yml'), 'pillar');

describe('logs-public-keys', () => {
  it('accepts a verifier key (trimmed, as a block scalar leaves it)', () => {
    const k = generateNoteKey('qbuild-logs/logs').verifierKey;
    const p = parsePillar(pillar('{a: {logs: logs}}', `  logs-public-keys:\n    logs: |\n      ${k}\n`), 'p.yml');
    expect(p.logsPublicKeys).toEqual({ logs: k });
    expect(missingLogsKeyWarnings(p, 'p.yml')).toEqual([]);
  });

  it('refuses a key whose hash does not match its name and key, naming the key path', () => {
    const k = generateNoteKey('qbuild-logs/logs').verifierKey.replace('qbuild-logs/logs+', 'qbuild-logs/other+');
    expect(errorOf(pillar('{a: {logs: logs}}', `  logs-public-keys: {logs: "${k}"}\n`)))
      .toMatch(/^p\.yml: build-infra:logs-public-keys:logs: not a ticket verifier key \(.+\); print it in the logs qube with: qbuild role logs init --pillar-lines$/);
  });

  it('warns once per logs VM lacking a key, naming its ticket-gated keys VMs and the command', () => {
    const p = parsePillar(pillar('{a: {logs: logs}, b: {logs: logs}, c: {logs: logs2, gate: window}}'), 'p.yml');
    expect(missingLogsKeyWarnings(p, 'p.yml')).toEqual([
      'p.yml: build-infra:logs-public-keys:logs: missing: keys-a, keys-b cannot verify tickets, nothing will be signed; '
      + 'in the logs qube logs run `qbuild role logs init --pillar-lines`, paste its output under build-infra: and provision again',
    ]);
  });
});
