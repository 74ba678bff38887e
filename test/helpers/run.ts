import { spawn, type SpawnOptions } from 'node:child_process';

export interface RunResult { code: number; stdout: Buffer; stderr: string }

/** Runs a program to completion, feeding stdin, collecting both outputs. Never rejects on exit code. */
export function run(cmd: string, args: string[], opts: SpawnOptions & { stdin?: Buffer | string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({
      code: code ?? (signal ? 128 : 1),
      stdout: Buffer.concat(out),
      stderr: Buffer.concat(err).toString('utf8'),
    }));
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.stdin ?? '');
  });
}
