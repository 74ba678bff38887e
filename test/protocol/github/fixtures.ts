import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface ExampleSet { name: string; examples: Record<string, unknown>[] }

/** GitHub's own example payloads (@octokit/webhooks-examples) for one event. */
export function githubExamples(event: string): Record<string, unknown>[] {
  const all = require('@octokit/webhooks-examples') as ExampleSet[];
  const set = all.find((e) => e.name === event);
  if (!set) throw new Error(`no examples for ${event}`);
  return set.examples;
}

/** The first example of `event` (with `action` when given), deep-copied so a test may edit it. */
export function githubExample(event: string, action?: string): Record<string, unknown> {
  const ex = githubExamples(event).find((e) => action === undefined || e.action === action);
  if (!ex) throw new Error(`no ${event} example with action ${action}`);
  return JSON.parse(JSON.stringify(ex)) as Record<string, unknown>;
}
