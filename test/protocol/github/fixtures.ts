import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

/** A throw-away GnuPG home with one Ed25519 signing key: real clearsigned commands for tests. */
export class TestSigner {
  readonly home = mkdtempSync(join(tmpdir(), 'qbuild-gh-gpg-'));

  constructor() {
    this.gpg(['--quick-gen-key', 'qbuild test <test@example.invalid>', 'ed25519', 'sign', 'never']);
  }

  private gpg(args: string[], input?: string): string {
    return execFileSync('gpg', ['--homedir', this.home, '--batch', '--no-tty', '--passphrase', '', '--pinentry-mode', 'loopback', ...args], {
      input, stdio: ['pipe', 'pipe', 'pipe'],
    }).toString('utf8');
  }

  /** `gpg --clearsign` of `text`, exactly as gpg writes it. */
  clearsign(text: string): string {
    return this.gpg(['--clearsign', '--digest-algo', 'SHA256'], text);
  }

  /** gpg's verdict on a clearsigned block: true only for a good signature. */
  verifies(block: string): boolean {
    const f = join(this.home, 'check.asc');
    writeFileSync(f, block);
    try { this.gpg(['--verify', f]); return true; } catch { return false; }
  }

  cleanup(): void {
    rmSync(this.home, { recursive: true, force: true });
  }
}
