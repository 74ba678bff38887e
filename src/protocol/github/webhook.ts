import { QbuildError } from '../../errors.js';
import { componentFromRepository } from './component.js';
import { extractClearsignedBlock } from './comment.js';

/** The two webhook endpoints (design §8) and the GitHub event each one acts on. */
export const ENDPOINTS = {
  '/github-hooks/trigger-build': 'push',
  '/github-hooks/process-comment': 'issue_comment',
} as const;
export type EndpointPath = keyof typeof ENDPOINTS;

export function isEndpoint(path: string): path is EndpointPath {
  return Object.prototype.hasOwnProperty.call(ENDPOINTS, path);
}

/** Work for the build VMs, as it is queued and forwarded. */
export type Work =
  | { kind: 'trigger'; component: string }
  | { kind: 'command'; text: string };

/** What one verified webhook delivery means. */
export type Verdict =
  | { kind: 'reject'; reason: string }
  | { kind: 'ping' }
  | { kind: 'ignore'; reason: string }
  | { kind: 'work'; work: Work };

const EVENT_RE = /^[a-z_]{1,64}$/;
const DELIVERY_RE = /^[A-Za-z0-9-]{1,64}$/;

/** `X-GitHub-Event` is required: 1–64 characters of `[a-z_]` (GitHub's event names). */
export function checkEventName(value: string | undefined): string {
  if (!value) throw new QbuildError('bad-input', 'missing X-GitHub-Event header');
  if (!EVENT_RE.test(value)) throw new QbuildError('bad-input', 'invalid X-GitHub-Event header');
  return value;
}

/** `X-GitHub-Delivery` is required (it de-duplicates redeliveries): a GUID, 1–64 of `[A-Za-z0-9-]`. */
export function checkDeliveryId(value: string | undefined): string {
  if (!value) throw new QbuildError('bad-input', 'missing X-GitHub-Delivery header');
  if (!DELIVERY_RE.test(value)) throw new QbuildError('bad-input', 'invalid X-GitHub-Delivery header');
  return value;
}

/** How a non-object JSON value is named in a refusal: `array`, `string`, `null`, `number`, `boolean`. */
function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/**
 * A webhook body must be a JSON object: GitHub sends one for every event, `ping` included.
 * An array, string, number, boolean or `null` — even correctly signed — is a malformed
 * delivery (400), never something to ignore or to answer as a ping.
 */
export function checkPayloadObject(payload: unknown): string | undefined {
  if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) return undefined;
  return `body must be a JSON object, not ${jsonKind(payload)}`;
}

function field(obj: unknown, key: string): unknown {
  return obj && typeof obj === 'object' && !Array.isArray(obj) ? (obj as Record<string, unknown>)[key] : undefined;
}

/**
 * Decides what a signature-verified delivery asks for. Rules:
 * - the body must be a JSON object for every event, `ping` included (checkPayloadObject):
 *   anything else is rejected;
 * - `ping` is answered on any endpoint and queues nothing;
 * - each endpoint acts only on its own event (push / issue_comment); any other event is ignored;
 * - push: `repository.full_name` (else `repository.name`) must give a valid component name
 *   (componentFromRepository); otherwise the delivery is ignored, never mangled;
 * - issue_comment: only `action == "created"`, and only when the comment body holds a
 *   clearsigned block (extractClearsignedBlock); edits and deletions are ignored.
 */
export function classifyDelivery(path: EndpointPath, event: string, payload: unknown): Verdict {
  const notObject = checkPayloadObject(payload);
  if (notObject !== undefined) return { kind: 'reject', reason: notObject };
  if (event === 'ping') return { kind: 'ping' };
  if (ENDPOINTS[path] !== event) return { kind: 'ignore', reason: `event ${event} is not handled by ${path}` };
  if (event === 'push') {
    const repo = field(payload, 'repository');
    const name = field(repo, 'full_name') ?? field(repo, 'name');
    if (typeof name !== 'string') return { kind: 'ignore', reason: 'push without repository name' };
    try {
      return { kind: 'work', work: { kind: 'trigger', component: componentFromRepository(name) } };
    } catch (e) {
      return { kind: 'ignore', reason: (e as Error).message };
    }
  }
  const action = field(payload, 'action');
  if (action !== 'created') return { kind: 'ignore', reason: `comment action ${String(action).slice(0, 32)} is not "created"` };
  const text = extractClearsignedBlock(field(field(payload, 'comment'), 'body'));
  if (text === undefined) return { kind: 'ignore', reason: 'comment holds no clearsigned block' };
  return { kind: 'work', work: { kind: 'command', text } };
}
