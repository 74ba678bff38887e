/**
 * The seam between the build pipeline and whatever runs a recipe's untrusted code.
 *
 * Two backends: `local` (./local.ts), a child process of the build daemon in its own process
 * group, and `dispvm` (./dispvm.ts), a fresh disposable qube per run, as Qubes' builderv2 can
 * use. A disposable backend meets this contract:
 *  - copy `cwd` and every `inputDirs` entry into the disposable (at the same paths, or under a
 *    root of its own with every `env` value naming them remapped alike; inputs may be
 *    read-only there), run `argv` in `cwd` with exactly `env` and nothing else;
 *  - deliver stdout and stderr merged, in the order the disposable wrote them, to `onOutput`,
 *    one call at a time, and stop reading while a returned promise is pending (the qrexec
 *    stream then fills and the disposable's writes block: that is the backpressure);
 *  - enforce `timeoutMs`, `outputCapBytes` and `signal` by killing the disposable, never by
 *    asking the code inside it to stop;
 *  - after a normal exit, copy `cwd` back (recipes write their results under `cwd`) and
 *    destroy the disposable, so nothing the recipe started survives the run;
 *  - answer with the same ExecResult union.
 */
export interface Executor {
  run(spec: ExecSpec): Promise<ExecResult>;
}

export interface ExecSpec {
  /** Program and arguments; argv[0] is looked up in env.PATH. No shell is involved. */
  argv: readonly string[];
  /** The run's own work directory: everything it writes goes under here. */
  cwd: string;
  /** The complete environment: nothing is inherited from the build daemon. */
  env: Readonly<Record<string, string>>;
  /** Directories outside `cwd` the run reads (e.g. the checkout); a local run ignores this. */
  inputDirs?: readonly string[];
  timeoutMs: number;
  /** Output past this many bytes is not delivered, and the run is killed. */
  outputCapBytes: number;
  /** Each chunk of merged stdout+stderr, in arrival order; a pending promise pauses the child's output. */
  onOutput(chunk: Buffer): void | Promise<void>;
  /** Aborting kills the run. */
  signal?: AbortSignal;
}

/** How a run ended. Only `exited` lets the recipe's own exit code speak. */
export type ExecResult =
  | { kind: 'exited'; code: number; outputBytes: number }
  | { kind: 'timeout'; timeoutMs: number; outputBytes: number }
  | { kind: 'output-cap'; capBytes: number; outputBytes: number }
  | { kind: 'aborted'; outputBytes: number };

/** One line for a log and an error message, e.g. `exit code 2`, `timed out after 6 h`. */
export function describeResult(r: ExecResult): string {
  switch (r.kind) {
    case 'exited': return `exit code ${r.code}`;
    case 'timeout': return `timed out after ${formatDuration(r.timeoutMs)}`;
    case 'output-cap': return `output exceeded the cap of ${r.capBytes} bytes`;
    case 'aborted': return 'aborted';
  }
}

function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
