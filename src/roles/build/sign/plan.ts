import { QbuildError } from '../../../errors.js';
import { SHORT_WITH_VALUE, longOptionTakesValue, parseGpgArgs, type GpgRequest } from '../../../protocol/splitgpg/options.js';

/**
 * What `qbuild sign` does with its gpg command line before anything leaves the build VM
 * (modelled on qubes-gpg-client-wrapper). Pure: argv in, plan out.
 * - `-o FILE` / `--output FILE` (also bundled, `-sbo FILE`, `-sboFILE`) is handled locally:
 *   the keys VM only ever writes to stdout. Given twice is refused.
 * - Options that mean nothing for a remote, offline key (tty/display, agent/pinentry,
 *   keyserver, dirmngr, --yes, --command-fd, legacy no-ops) are dropped, as the wrapper does;
 *   `--detach`/`--detach-sig` become `--detach-sign`, `--sign-with X` becomes `-u X`.
 * - A data file operand is read locally and sent as stdin (`-`); a `--verify` signature
 *   file is read locally and sent on its own stream (`/dev/fd/N`).
 * - `--status-fd 1` (and logger/attribute) is renumbered so status never mixes with data.
 * - The final vector must pass the keys VM's own allowlist (same parser), so refusals
 *   happen here first, with the same words.
 */
export interface SignPlan {
  /** The argument vector sent to the keys VM. */
  args: string[];
  request: GpgRequest;
  /** Local file for stdout (`-o FILE`), or undefined for our stdout. */
  outputFile: string | undefined;
  /** Local data file (instead of our stdin). */
  inputFile: string | undefined;
  /** Local detached-signature file for --verify ('-' = our stdin). */
  sigFile: string | undefined;
  /** Output stream index → local fd. */
  routes: number[];
}

const DROP_FLAG = new Set(['--disable-dirmngr', '--expert', '--no-use-agent', '--use-agent', '--no-tty', '--yes',
  '--enable-special-filenames', '--disable-mdc', '--force-mdc', '--force-v3-sigs', '--force-v4-certs', '--no-sk-comments']);
const DROP_WITH_VALUE = new Set(['--keyserver-options', '--photo-viewer', '--command-fd', '--pinentry-mode', '--passphrase-fd',
  '--ttyname', '--ttytype', '--display', '--lc-messages', '--lc-ctype', '--xauthority']);
const FD_OPTIONS = new Set(['--status-fd', '--logger-fd', '--attribute-fd']);

export function planSign(argv: readonly string[]): SignPlan {
  const args: string[] = [];
  let outputFile: string | undefined;
  let outputSet = false;
  const setOutput = (f: string) => {
    if (outputSet) throw new QbuildError('usage', 'Output file already set');
    outputSet = true;
    outputFile = f === '-' ? undefined : f;
  };
  const remapped = new Map<string, number>(); // option → virtual fd for a '1'
  let i = 0;
  const need = (opt: string): string => {
    if (i >= argv.length) throw new QbuildError('usage', `Missing argument to ${opt}`);
    return argv[i++]!;
  };
  for (; i < argv.length;) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '-' || !a.startsWith('-')) break;
    i++;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a : a.slice(0, eq);
      const inline = eq < 0 ? undefined : a.slice(eq + 1);
      if (DROP_FLAG.has(a)) continue;
      if (DROP_WITH_VALUE.has(name)) { if (inline === undefined) need(name); continue; }
      if (name === '--charset' || name === '--display-charset') {
        const v = inline ?? need(name);
        if (!/^utf-?8$/i.test(v)) throw new QbuildError('usage', `Unsupported character set ${v}`);
        continue;
      }
      if (a === '--quiet') { args.push('-q'); continue; }
      if (a === '--detach' || a === '--detach-sig') { args.push('--detach-sign'); continue; }
      if (name === '--sign-with') { args.push('-u', inline ?? need(name)); continue; }
      if (name === '--output') { setOutput(inline ?? need(name)); continue; }
      if (FD_OPTIONS.has(name)) {
        const v = inline ?? need(name);
        if (v === '1') {
          const virtual = 1020 + remapped.size;
          remapped.set(name, virtual);
          args.push(name, String(virtual));
        } else args.push(name, v);
        continue;
      }
      args.push(a);
      if (inline === undefined && longOptionTakesValue(a.slice(2)) && i < argv.length) args.push(argv[i++]!);
      continue;
    }
    // A short-option cluster: copy flags, take values, pull out -o.
    let kept = '-';
    for (let j = 1; j < a.length; j++) {
      const ch = a[j]!;
      if (!SHORT_WITH_VALUE.has(ch)) { kept += ch; continue; }
      const value = j + 1 < a.length ? a.slice(j + 1) : need(`-${ch}`);
      if (ch === 'o') { setOutput(value); }
      else { if (kept.length > 1) args.push(kept); kept = '-'; args.push(`-${ch}`, value); }
      break;
    }
    if (kept.length > 1) args.push(kept);
  }
  const tail = argv.slice(i);

  // Learn the command (the client side may name files), then rewrite the operands.
  const first = parseGpgArgs([...args, ...tail], 'client');
  if (!first.ok) throw new QbuildError('bad-input', first.message);
  const req0 = first.request;
  const optionPart = [...args, ...tail].slice(0, req0.optionCount);
  let operands = req0.operands;
  let inputFile: string | undefined;
  let sigFile: string | undefined;
  if (req0.action === 'verify') {
    if (operands.length === 0) throw new QbuildError('bad-input', '--verify needs a detached signature file');
    sigFile = operands[0]!;
    const data = operands[1];
    if (data !== undefined && data !== '-') inputFile = data;
    if (sigFile === '-' && inputFile === undefined) throw new QbuildError('bad-input', '--verify - needs the signed data in a file');
    let fd = 3;
    while (req0.outputFds.includes(fd)) fd++;
    operands = [`/dev/fd/${fd}`, '-'];
  } else if (req0.action !== 'list-keys' && req0.action !== 'list-secret-keys' && req0.action !== 'export') {
    const data = operands[0];
    if (data !== undefined && data !== '-') inputFile = data;
    operands = ['-'];
  }
  const finalArgs = [...optionPart, ...operands];
  const parsed = parseGpgArgs(finalArgs, 'server');
  if (!parsed.ok) throw new QbuildError('bad-input', parsed.message);
  const request = parsed.request;
  const virtuals = new Set(remapped.values());
  const routes = request.outputFds.map((fd, idx) => (idx === 0 ? 1 : idx === 1 ? 2 : virtuals.has(fd) ? 1 : fd));
  return { args: finalArgs, request, outputFile, inputFile, sigFile, routes };
}
