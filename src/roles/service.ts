import type { Readable, Writable } from 'node:stream';
import type { ServiceContext } from '../protocol/qrexec/env.js';

/** The caller's stream, as a qrexec service sees it. */
export interface ServiceIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

/** A qrexec service implementation: returns the exit code qrexec hands back to the caller. */
export type ServiceHandler = (ctx: ServiceContext, io: ServiceIO) => Promise<number>;
