import { spawn, type SpawnOptions } from 'node:child_process';
import { QbuildError } from '../errors.js';
import { pollUntil } from '../util/poll.js';

/** Progress lines of the demo: numbered steps, indented details. */
export class Progress {
  private n = 0;
  step(title: string): void { process.stdout.write(`\n[${++this.n}] ${title}\n`); }
  detail(line: string): void { process.stdout.write(`    ${line}\n`); }
}

export interface Ran { code: number; stdout: string; stderr: string }

/** Runs a tool to the end; throws a one-line error naming it unless `allowFail`. */
export function runTool(cmd: string, args: string[], opts: SpawnOptions & { input?: string | Buffer; allowFail?: boolean } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', (e) => reject(new QbuildError('io', `cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code) => {
      const r = { code: code ?? 1, stdout, stderr };
      if (r.code !== 0 && !opts.allowFail) {
        reject(new QbuildError('io', `${cmd} ${args[0] ?? ''} failed (exit ${r.code}): ${(stderr || stdout).trim().split('\n').slice(-2).join(' | ')}`));
      } else resolve(r);
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
  });
}

/** Polls `f` every 100 ms until it returns a value; a one-line error naming `what` after `ms`. */
export async function waitUntil<T>(what: string, f: () => Promise<T | undefined> | T | undefined, ms: number): Promise<T> {
  const v = await pollUntil(f, ms, 100);
  if (v === undefined) throw new QbuildError('io', `timed out after ${ms / 1000} s waiting for ${what}`);
  return v;
}
