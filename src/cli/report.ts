import { QbuildError, oneLine } from '../errors.js';

/** Which role a top-level command speaks for, in `qbuild: <role>: <message>`. */
const ROLE_OF: Record<string, string> = {
  provision: 'dom0', rpc: 'rpc', role: 'role', build: 'build', sign: 'sign',
  verify: 'verify', sim: 'sim', demo: 'demo',
};

let roleLabel: string | undefined;
/** Commands that know better (e.g. `role logs`, `rpc qubes.Gpg` in a keys VM) set the label. */
export function setRoleLabel(label: string): void { roleLabel = label; }

/** The CLI edge: one line on stderr, a stable exit code, never a stack (unless QBUILD_DEBUG). */
export function reportAndExit(err: unknown, command: string | undefined): void {
  const role = roleLabel ?? ROLE_OF[command ?? ''];
  // No command named (`qbuild frobnicate`): plain `qbuild: <message>`, never `qbuild: qbuild:`.
  const prefix = role === undefined ? 'qbuild' : `qbuild: ${role}`;
  if (err instanceof QbuildError) {
    process.stderr.write(`${prefix}: ${oneLine(err)}\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`${prefix}: internal error: ${oneLine(err)}\n`);
    process.exitCode = 1;
  }
  if (process.env.QBUILD_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
}
