import { createHmac, timingSafeEqual } from 'node:crypto';

/** GitHub's signature header: `sha256=` followed by the lowercase hex HMAC-SHA256 of the raw body. */
const SIGNATURE_RE = /^sha256=([0-9a-f]{64})$/;

/** The header value GitHub would send for `body` signed with `secret` (also used by tests and the bench). */
export function signBody(secret: Buffer | string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Checks `X-Hub-Signature-256`. Rules:
 * - The header is required and must be exactly `sha256=<64 lowercase hex>`; the legacy SHA-1
 *   `X-Hub-Signature` is never accepted.
 * - The HMAC-SHA256 is computed over the raw body bytes as received (not re-serialised JSON).
 * - The comparison is constant-time over the 32 digest bytes.
 */
export function verifyHubSignature(secret: Buffer, body: Buffer, header: string | undefined): boolean {
  if (typeof header !== 'string') return false;
  const m = SIGNATURE_RE.exec(header);
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(m[1]!, 'hex'));
}
