import type { Readable, Writable } from 'node:stream';
import type { ServiceContext } from '../protocol/qrexec/env.js';

/** The caller's stream, as a qrexec service sees it. */
export interface ServiceIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /**
   * The descriptors behind stdin and stdout when the service is its own process (run by a
   * qrexec stub). A per-call service may read and write them directly (src/util/fd-io.ts):
   * building process.stdin on a socket costs a per-call process several milliseconds.
   */
  fds?: { stdin: number; stdout: number };
}

/** A qrexec service implementation: returns the exit code qrexec hands back to the caller. */
export type ServiceHandler = (ctx: ServiceContext, io: ServiceIO) => Promise<number>;
