import type { Readable, Writable } from 'node:stream';

/** One qrexec call in flight: the callee's stdin/stdout/stderr and its exit code. */
export interface Call {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** The callee's exit code; 126 when policy refused, 127 when there is no such service. */
  exit: Promise<number>;
  /**
   * Ends the call at once from the caller's side (the service's streams are cut; a
   * disposable qube is destroyed with its call). Optional: not every transport can.
   */
  kill?(): void;
}

export interface CallRequest {
  /** A VM name, `dom0` or an `@`-keyword, as the caller asks it (policy may redirect). */
  target: string;
  service: string;
  argument?: string | undefined;
}

/** The seam between roles and qrexec: real Qubes (transport-qubes) or the simulator (transport-sim). */
export interface Transport {
  call(req: CallRequest): Call;
}
