import { describe, expect, it } from 'vitest';
import { generateWitnessKey } from '../../../src/protocol/tlog/cosignature.js';
import { generateNoteKey } from '../../../src/protocol/note/note.js';
import { logsVmConfig } from '../../../src/roles/dom0/config/logs.js';
import { parsePillar } from '../../../src/roles/dom0/pillar.js';
import { parseLogsSettings } from '../../../src/roles/logs/settings.js';

const w1 = generateWitnessKey('witness.example/w1').verifierKey;
const w2 = generateWitnessKey('witness.example/w2').verifierKey;
const pillar = (witnesses: string) => parsePillar([
  'build-infra:',
  '  build-envs: {a: {logs: logs-a, gate: window}}',
  `  logs-witnesses: ${witnesses}`,
].join('\n'), 'p.yml');

describe('pillar logs-witnesses → the logs qube\'s logs.witnesses', () => {
  it('provisions each logs VM\'s witnesses, which the logs role reads back', () => {
    const p = pillar(`{logs-a: [{url: "https://witness.example/w1", vkey: "${w1}"}, {url: "http://127.0.0.1:9000/", vkey: "${w2}"}]}`);
    const c = logsVmConfig(p, 'logs-a');
    const want = [{ url: 'https://witness.example/w1', vkey: w1 }, { url: 'http://127.0.0.1:9000/', vkey: w2 }];
    expect((c.logs as { witnesses: unknown }).witnesses).toEqual(want);
    expect(parseLogsSettings('logs-a', '/var/q', c.logs).witnesses).toEqual(want);
    expect('witnesses' in (logsVmConfig(pillar('{}'), 'logs-a').logs as object)).toBe(false);
  });

  it.each([
    ['an unknown logs VM', `{other: [{url: "https://w/", vkey: "${w1}"}]}`, 'logs-witnesses:other: "other" is not the logs VM of any build environment'],
    ['a note key as vkey', `{logs-a: [{url: "https://w/", vkey: "${generateNoteKey('n').verifierKey}"}]}`, 'logs-witnesses:logs-a:0:vkey:'],
    ['a URL with credentials', `{logs-a: [{url: "https://u:p@w/", vkey: "${w1}"}]}`, 'logs-witnesses:logs-a:0:url: must not contain credentials'],
    ['a missing url', `{logs-a: [{vkey: "${w1}"}]}`, 'logs-witnesses:logs-a:0:url: missing'],
    ['an unknown key', `{logs-a: [{url: "https://w/", vkey: "${w1}", name: x}]}`, 'logs-witnesses:logs-a:0:name: unknown key'],
    ['a witness twice', `{logs-a: [{url: "https://w/", vkey: "${w1}"}, {url: "https://v/", vkey: "${w1}"}]}`, 'listed twice'],
    ['not a list', `{logs-a: {url: "https://w/"}}`, 'logs-witnesses:logs-a: must be a list of {url, vkey}'],
  ])('refuses %s', (_what, text, message) => {
    let msg = '';
    try { pillar(text); } catch (e) { msg = (e as Error).message; }
    expect(msg).toContain(message);
  });
});
