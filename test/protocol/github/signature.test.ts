import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signBody, verifyHubSignature } from '../../../src/protocol/github/signature.js';
import { githubExample } from './fixtures.js';

const secret = Buffer.from('It is a secret to everybody');
const body = Buffer.from(JSON.stringify(githubExample('push')));

describe('X-Hub-Signature-256', () => {
  it('accepts the HMAC-SHA256 of the raw body, as GitHub computes it', () => {
    const header = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    expect(signBody(secret, body)).toBe(header);
    expect(verifyHubSignature(secret, body, header)).toBe(true);
  });

  it('matches GitHub\'s documented test vector', () => {
    // docs.github.com "Validating webhook deliveries": secret and payload below.
    const h = signBody("It's a Secret to Everybody", 'Hello, World!');
    expect(h).toBe('sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17');
  });

  it('refuses a missing, malformed, legacy or wrong signature', () => {
    const good = signBody(secret, body);
    expect(verifyHubSignature(secret, body, undefined)).toBe(false);
    expect(verifyHubSignature(secret, body, '')).toBe(false);
    expect(verifyHubSignature(secret, body, good.slice(7))).toBe(false);
    expect(verifyHubSignature(secret, body, good.toUpperCase())).toBe(false);
    expect(verifyHubSignature(secret, body, `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`)).toBe(false);
    expect(verifyHubSignature(Buffer.from('other secret'), body, good)).toBe(false);
    expect(verifyHubSignature(secret, Buffer.concat([body, Buffer.from(' ')]), good)).toBe(false);
    expect(verifyHubSignature(secret, body, `${good}0`)).toBe(false);
  });
});
