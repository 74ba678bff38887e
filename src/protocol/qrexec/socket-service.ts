import { QbuildError } from '../../errors.js';
import { checkArgument, checkServiceName, checkVmName } from './names.js';

/**
 * Socket-based qrexec services (Qubes 4.1+, qubes-core-qrexec `libqrexec/exec.c`,
 * `find_qrexec_service`): when `/etc/qubes-rpc/SERVICE+ARG` (or `SERVICE`) is a Unix socket
 * (or a symlink to one), qrexec-agent connects to it instead of starting a process, and first
 * writes the service descriptor: the request's command text after `QUBESRPC `, i.e.
 * `SERVICE+ARG SOURCE` (dom0 always adds the `+`, so no argument is `SERVICE+`), then one NUL.
 * The same connection then carries the caller's stdin (shut down for writing at its EOF) and
 * the service's stdout. There is no stderr, and the exit code qrexec reports to the caller is
 * always 0 (`process_io.c`: `send_exit_code(vchan, local_pid ? local_status : 0)`).
 */
export interface SocketServiceHeader {
  service: string;
  /** undefined for `SERVICE+` (no argument). */
  argument: string | undefined;
  /** The calling qube, as dom0 named it. */
  source: string;
}

/** Longest header accepted: a 129-byte descriptor, a space and a 31-byte VM name, with room to spare. */
export const MAX_SOCKET_HEADER = 256;

export function encodeSocketServiceHeader(h: SocketServiceHeader): Buffer {
  return Buffer.from(`${h.service}+${h.argument ?? ''} ${h.source}\0`, 'latin1');
}

/**
 * Parses a header (its bytes before the NUL). Rules: exactly two fields separated by one
 * space, the descriptor `SERVICE+ARG` (or `SERVICE` alone, which qrexec-agent's own tests send)
 * and the source VM; each checked with qrexec's name rules (a VM-target call: a keys VM is
 * never dom0, so the dom0-target form with extra `name|keyword TARGET` fields is refused).
 */
export function parseSocketServiceHeader(bytes: Buffer): SocketServiceHeader {
  const text = bytes.toString('latin1');
  const fields = text.split(' ');
  if (fields.length !== 2) throw new QbuildError('protocol', `socket service header must be "SERVICE+ARG SOURCE", got ${fields.length} field(s)`);
  const [desc, source] = fields as [string, string];
  const plus = desc.indexOf('+');
  const service = checkServiceName(plus < 0 ? desc : desc.slice(0, plus));
  const arg = plus < 0 ? '' : checkArgument(desc.slice(plus + 1));
  return { service, argument: arg === '' ? undefined : arg, source: source === 'dom0' ? source : checkVmName(source) };
}

/**
 * Collects a header from a connection's first bytes. Rules: the header ends at the first NUL;
 * more than MAX_SOCKET_HEADER bytes without one is a protocol error. Returns the header and
 * whatever followed it (the start of the caller's stdin), or undefined while incomplete.
 */
export class SocketHeaderReader {
  private parts: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer): { header: SocketServiceHeader; rest: Buffer } | undefined {
    const nul = chunk.indexOf(0);
    if (nul < 0) {
      this.size += chunk.length;
      if (this.size > MAX_SOCKET_HEADER) throw new QbuildError('protocol', `socket service header longer than ${MAX_SOCKET_HEADER} bytes`);
      this.parts.push(chunk);
      return undefined;
    }
    if (this.size + nul > MAX_SOCKET_HEADER) throw new QbuildError('protocol', `socket service header longer than ${MAX_SOCKET_HEADER} bytes`);
    const header = parseSocketServiceHeader(Buffer.concat([...this.parts, chunk.subarray(0, nul)]));
    this.parts = [];
    return { header, rest: chunk.subarray(nul + 1) };
  }
}

/**
 * A socket service's in-band exit (qbuild's convention for services whose callers need the
 * outcome, e.g. LogReceived; qrexec itself reports 0 and carries no stderr): after the call's
 * own output come its stderr lines, each as `stderr: LINE`, and a last line `exit N`.
 */
export function encodeInBandExit(stderr: string, code: number): string {
  const lines = stderr === '' ? [] : stderr.replace(/\n$/, '').split('\n');
  return `${lines.map((l) => `stderr: ${l}\n`).join('')}exit ${code}\n`;
}

/**
 * Reads an in-band exit (encodeInBandExit) off the end of a call's output. Returns N, the
 * output before the trailer and the stderr text, or undefined when the output does not end
 * with `exit N` (a per-call process service, whose exit code qrexec carries).
 */
export function splitInBandExit(out: string): { code: number; stdout: string; stderr: string } | undefined {
  const m = /(?:^|\n)exit (\d{1,3})\n$/.exec(out);
  if (!m) return undefined;
  const lines = out.slice(0, m.index + (m[0].startsWith('\n') ? 1 : 0)).split('\n');
  lines.pop(); // after the last newline: nothing
  let first = lines.length;
  while (first > 0 && lines[first - 1]!.startsWith('stderr: ')) first--;
  const stdout = lines.slice(0, first).map((l) => `${l}\n`).join('');
  const stderr = lines.slice(first).map((l) => `${l.slice('stderr: '.length)}\n`).join('');
  return { code: Number(m[1]), stdout, stderr };
}
