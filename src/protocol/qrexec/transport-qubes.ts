import { spawn } from 'node:child_process';
import type { Call, CallRequest, Transport } from './transport.js';
import { checkTarget } from './names.js';
import { formatServiceFullName } from './names.js';
import { EXIT_PROBLEM } from './exit-codes.js';

/** Real Qubes: `qrexec-client-vm TARGET SERVICE[+ARG]` with stdio piped. */
export class QubesTransport implements Transport {
  constructor(private readonly program = 'qrexec-client-vm') {}

  call(req: CallRequest): Call {
    const target = req.target === 'dom0' ? 'dom0' : checkTarget(req.target);
    const child = spawn(this.program, [target, formatServiceFullName({ service: req.service, argument: req.argument })], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exit = new Promise<number>((resolve) => {
      child.on('error', () => resolve(EXIT_PROBLEM));
      child.on('close', (code, signal) => resolve(code ?? (signal ? EXIT_PROBLEM : 0)));
    });
    child.stdin.on('error', () => { /* callee closed its input early: its exit code tells */ });
    // qrexec-client-vm gone, the call's vchan closes: the service (a disposable) ends with it.
    const kill = () => { child.kill('SIGKILL'); };
    return { stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, exit, kill };
  }
}
