/**
 * The one error type. `code` is stable (tests and callers match on it); `message` is the
 * one line a user sees as `qbuild: <role>: <message>`. `exitCode` is what the CLI exits with.
 */
export type ErrorCode =
  | 'usage'            // bad command line or bad input file: exit 2
  | 'config'           // missing/invalid configuration: exit 2
  | 'pillar'           // invalid pillar: exit 2
  | 'policy-syntax'    // invalid policy file line: exit 2
  | 'bad-name'         // invalid service/VM/target name: exit 125 (a bad argument is bad-input)
  | 'refused'          // qrexec policy refused a call: exit 126
  | 'no-service'       // no such qrexec service: exit 127
  | 'protocol'         // peer spoke a malformed protocol: exit 125
  | 'io'               // file system or process failure: exit 1
  | 'gate'             // keys VM refused to sign: exit 1
  | 'bad-input'        // outside input rejected by a parser: exit 2
  | 'source'           // a component's source failed verification (tag, signatures): exit 1
  | 'stage'            // a build pipeline stage failed (recipe, signing, publish, upload): exit 1
  | 'verify'           // an auditor's check (`qbuild verify`) found something wrong: exit 1
  | 'internal';        // a bug: exit 1

const EXIT: Record<ErrorCode, number> = {
  usage: 2, config: 2, pillar: 2, 'policy-syntax': 2,
  'bad-name': 125, refused: 126, 'no-service': 127, protocol: 125,
  io: 1, gate: 1, 'bad-input': 2, source: 1, stage: 1, verify: 1, internal: 1,
};

export class QbuildError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, exitCode?: number) {
    super(message);
    this.name = 'QbuildError';
    this.code = code;
    this.exitCode = exitCode ?? EXIT[code];
  }
}

/** One line for the user: never a stack, never multi-line. */
export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}
