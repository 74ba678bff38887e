import { PassThrough } from 'node:stream';
import type { Call, CallRequest, Transport } from '../../../src/protocol/qrexec/transport.js';

export interface Delivered { target: string; service: string; argument?: string | undefined; stdin: string }

/**
 * An in-memory qrexec transport: `answer(req)` gives each call's exit code (default 0);
 * calls that exit 0 are recorded in `delivered`, every call in `calls`.
 */
export class FakeTransport implements Transport {
  readonly calls: Delivered[] = [];
  readonly delivered: Delivered[] = [];
  answer: (req: CallRequest) => number | Promise<number> = () => 0;

  call(req: CallRequest): Call {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const chunks: Buffer[] = [];
    stdin.on('data', (b: Buffer) => chunks.push(b));
    const exit = new Promise<number>((resolve) => {
      stdin.on('end', async () => {
        const d = { target: req.target, service: req.service, argument: req.argument, stdin: Buffer.concat(chunks).toString() };
        this.calls.push(d);
        const code = await this.answer(req);
        if (code === 0) this.delivered.push(d);
        else stderr.write(`fake: ${req.target} exit ${code}\n`);
        stdout.end();
        stderr.end();
        resolve(code);
      });
    });
    return { stdin, stdout, stderr, exit };
  }
}
