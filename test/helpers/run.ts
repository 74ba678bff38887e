import { spawn, type SpawnOptions } from 'node:child_process';

export interface RunResult { code: number; stdout: Buffer; stderr: string }

export interface RunOptions extends SpawnOptions {
  stdin?: Buffer | string;
  /**
   * A deadline: past it the program is killed and the call rejects, naming the command and
   * what it printed to stderr, so a hung step says which it was (a hook's own timeout names none).
   */
  deadlineMs?: number;
}

/** Runs a program to completion, feeding stdin, collecting both outputs. Never rejects on exit code. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = opts.deadlineMs === undefined ? undefined : setTimeout(() => {
      child.kill('SIGKILL');
      const tail = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-5).join(' | ');
      reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')} did not end within ${opts.deadlineMs} ms (killed); stderr: ${tail || '(none)'}`));
    }, opts.deadlineMs);
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.stdin ?? '');
  });
}
