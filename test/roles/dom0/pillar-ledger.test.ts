import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateWitnessKey } from '../../../src/protocol/tlog/cosignature.js';
import { parsePillar } from '../../../src/roles/dom0/pillar.js';
import { qbuildBin } from '../../helpers/binary.js';
import { oneLineError } from '../../helpers/one-line-error.js';
import { run } from '../../helpers/run.js';
import { tempDirs } from '../../helpers/tmp.js';

const tmp = tempDirs('qb-pillar-ledger-');
const w1 = generateWitnessKey('witness.one.example').verifierKey;
const w2 = generateWitnessKey('witness.two.example').verifierKey;
const pillar = (env: string) => `build-infra:\n  build-envs:\n    a:\n      logs: logs\n${env}    b: {logs: logs}\n`;
const errorOf = (text: string): string => oneLineError('pillar', () => parsePillar(text, 'p.yml'), 'pillar');

describe('pillar: an env\'s ledger demands (accept-v1-tickets, witnesses, witness-quorum)', () => {
  it('provision writes them into that env\'s keys VM config only; an env without them keeps the defaults', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'p.yml'), pillar(`      accept-v1-tickets: true\n      witnesses: ["${w1}", "${w2}"]\n      witness-quorum: 1\n`));
    const r = await run(qbuildBin(), ['provision', '--pillar', join(dir, 'p.yml'), '--out', join(dir, 'out')]);
    expect(r.code, r.stderr.toString()).toBe(0);
    const keys = (vm: string) => JSON.parse(readFileSync(join(dir, 'out', 'files', vm, 'qbuild.json'), 'utf8')).keys;
    expect(keys('keys-a')).toMatchObject({ acceptV1Tickets: true, witnesses: [w1, w2], witnessQuorum: 1 });
    expect(Object.keys(keys('keys-b'))).not.toContain('acceptV1Tickets');
    expect(Object.keys(keys('keys-b'))).not.toContain('witnesses');
  });

  it.each([
    ['accept-v1-tickets: yes-please', /build-envs:a:accept-v1-tickets: must be true or false$/],
    ['witnesses: ["not-a-key"]', /build-envs:a:witnesses:0: /],
    [`witnesses: ["${w1}", "${w1}"]`, /build-envs:a:witnesses: ".*" listed twice$/],
    ['witness-quorum: 1', /build-envs:a:witness-quorum: needs witnesses$/],
    [`witnesses: ["${w1}"]\n      witness-quorum: 2`, /build-envs:a:witness-quorum: must be a whole number from 0 to 1$/],
  ])('refuses %s, naming the key', (line, why) => {
    expect(errorOf(pillar(`      ${line}\n`))).toMatch(why);
  });
});
