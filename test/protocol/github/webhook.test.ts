import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDeliveryId, checkEventName, checkPayloadObject, classifyDelivery } from '../../../src/protocol/github/webhook.js';
import { githubExample, githubExamples } from './fixtures.js';
import { TestSigner } from '../../helpers/gpg.js';

const TRIGGER = '/github-hooks/trigger-build';
const COMMENT = '/github-hooks/process-comment';

let signer: TestSigner;
beforeAll(() => { signer = new TestSigner(); });
afterAll(() => signer.cleanup());

describe('classifyDelivery on GitHub\'s example payloads', () => {
  it('push → TriggerBuild of the repository\'s component', () => {
    for (const push of githubExamples('push')) {
      expect(classifyDelivery(TRIGGER, 'push', push)).toEqual({ kind: 'work', work: { kind: 'trigger', component: 'Hello-World' } });
    }
    const p = githubExample('push');
    (p.repository as Record<string, unknown>).full_name = 'QubesOS/qubes-core-qrexec';
    expect(classifyDelivery(TRIGGER, 'push', p)).toEqual({ kind: 'work', work: { kind: 'trigger', component: 'core-qrexec' } });
  });

  it('issue_comment created with a clearsigned block → the block; other actions and plain comments ignored', () => {
    const block = signer.clearsign('Build-template r4.2 debian-12 202401011200\n');
    const c = githubExample('issue_comment', 'created');
    expect(classifyDelivery(COMMENT, 'issue_comment', c).kind).toBe('ignore'); // the example's own text
    (c.comment as Record<string, unknown>).body = `Signed:\r\n${block.replace(/\n/g, '\r\n')}`;
    expect(classifyDelivery(COMMENT, 'issue_comment', c)).toEqual({ kind: 'work', work: { kind: 'command', text: block } });
    for (const action of ['edited', 'deleted']) {
      const e = githubExample('issue_comment', action);
      (e.comment as Record<string, unknown>).body = block;
      expect(classifyDelivery(COMMENT, 'issue_comment', e).kind).toBe('ignore');
    }
  });

  it('answers ping, and ignores events an endpoint does not act on', () => {
    expect(classifyDelivery(TRIGGER, 'ping', githubExample('ping'))).toEqual({ kind: 'ping' });
    expect(classifyDelivery(COMMENT, 'push', githubExample('push')).kind).toBe('ignore');
    expect(classifyDelivery(TRIGGER, 'issue_comment', githubExample('issue_comment')).kind).toBe('ignore');
    expect(classifyDelivery(TRIGGER, 'star', githubExample('star')).kind).toBe('ignore');
  });

  it('ignores a push whose repository does not name a valid component', () => {
    const p = githubExample('push');
    (p.repository as Record<string, unknown>).full_name = 'evil/qubes-../../etc';
    expect(classifyDelivery(TRIGGER, 'push', p).kind).toBe('ignore');
    expect(classifyDelivery(TRIGGER, 'push', {}).kind).toBe('ignore');
  });

  it('rejects a body that is JSON but not an object, for every event including ping', () => {
    const cases: [unknown, string][] = [[[1, 2], 'array'], ['x', 'string'], [null, 'null'], [42, 'number'], [true, 'boolean']];
    for (const [payload, kind] of cases) {
      for (const [path, event] of [[TRIGGER, 'ping'], [TRIGGER, 'push'], [COMMENT, 'issue_comment'], [COMMENT, 'push'], [TRIGGER, 'star']] as const) {
        expect(classifyDelivery(path, event, payload)).toEqual({ kind: 'reject', reason: `body must be a JSON object, not ${kind}` });
      }
    }
    expect(checkPayloadObject(githubExample('ping'))).toBeUndefined();
  });
});

describe('header checks', () => {
  it('requires well-formed event names and delivery GUIDs', () => {
    expect(checkEventName('issue_comment')).toBe('issue_comment');
    expect(() => checkEventName(undefined)).toThrow(/missing/);
    expect(() => checkEventName('Push!')).toThrow(/invalid/);
    expect(checkDeliveryId('72d3162e-cc78-11e3-81ab-4c9367dc0958')).toBe('72d3162e-cc78-11e3-81ab-4c9367dc0958');
    expect(() => checkDeliveryId('')).toThrow(/missing/);
    expect(() => checkDeliveryId('../x')).toThrow(/invalid/);
    expect(() => checkDeliveryId('a'.repeat(65))).toThrow(/invalid/);
  });
});
