/**
 * `qubesbuilder.RunRecipe`: a build qube runs one recipe command in a fresh disposable qube
 * (docs/qrexec.md). Shared by the build qube's DispVmExecutor (the caller) and the service
 * inside the disposable, so both speak exactly this:
 *
 *   stdin:  one header line (JSON, RunRecipeHeader, at most MAX_HEADER bytes with its `\n`),
 *           then a tar (GNU tar) of the work dir and the input dirs, member names being their
 *           absolute paths without the leading `/`.
 *   stdout: frames `{u8 type, u32 BE length, payload}`: OUTPUT ('O', the recipe's merged
 *           stdout+stderr, in order) any number of times, then one END ('E', JSON RunRecipeEnd);
 *           after an END of kind `exited`, the raw tar of the work dir as the recipe left it
 *           (members relative to it, `./…`), up to EOF. Nothing else may follow END.
 */
import { QbuildError } from '../../errors.js';

export const RUN_RECIPE_SERVICE = 'qubesbuilder.RunRecipe';

/** The header line's limit: argv and env of a recipe are small. */
export const MAX_HEADER = 256 * 1024;
/** Largest frame payload either side accepts; OUTPUT is sent in chunks below it. */
export const MAX_RUN_FRAME = 1 << 20;
export const OUTPUT_CHUNK = 64 * 1024;

export interface RunRecipeHeader {
  argv: string[];
  /** Absolute, normal (no `.`/`..`/empty component) path of the work dir in the build qube. */
  cwd: string;
  /** Directories the recipe reads, same rule; none inside another or inside cwd. */
  inputDirs: string[];
  env: Record<string, string>;
  timeoutMs: number;
  outputCapBytes: number;
}

export type RunRecipeEnd =
  | { kind: 'exited'; code: number }
  | { kind: 'timeout' }
  | { kind: 'output-cap' }
  | { kind: 'aborted' };

export const enum RunFrame { Output = 0x4f, End = 0x45 }

const HEADER_KEYS = ['argv', 'cwd', 'inputDirs', 'env', 'timeoutMs', 'outputCapBytes'];
/** setTimeout's limit, as for local runs. */
const MAX_TIMEOUT_MS = 0x7fffffff;

function bad(why: string): never {
  throw new QbuildError('bad-input', `RunRecipe header: ${why}`);
}

/** A path is absolute and normal: `/` then non-empty components, none `.` or `..`, no NUL. */
export function isNormalAbsolute(p: string): boolean {
  return p.startsWith('/') && p.length > 1 && !p.includes('\0') && p.slice(1).split('/').every((c) => c !== '' && c !== '.' && c !== '..');
}

/** Whether `p` is `dir` or below it (both normal absolute paths). */
export function isWithin(p: string, dir: string): boolean {
  return p === dir || p.startsWith(`${dir}/`);
}

export function encodeHeader(h: RunRecipeHeader): Buffer {
  const line = Buffer.from(`${JSON.stringify(h)}\n`);
  if (line.length > MAX_HEADER) throw new QbuildError('internal', `RunRecipe header of ${line.length} bytes exceeds ${MAX_HEADER}`);
  return line;
}

/**
 * Parses the header line (without its `\n`). Rules, each refused with one line:
 * - a JSON object with exactly the keys argv, cwd, inputDirs, env, timeoutMs, outputCapBytes;
 * - argv: a non-empty list of strings without NUL;
 * - cwd and each inputDirs entry: normal absolute paths (isNormalAbsolute), no entry equal to,
 *   inside or containing cwd or another entry (each goes into the tar once);
 * - env: names `[A-Za-z_][A-Za-z0-9_]*`, values strings without NUL;
 * - timeoutMs an integer 1 ms … ~24.8 days; outputCapBytes a non-negative safe integer.
 */
export function parseHeader(line: string): RunRecipeHeader {
  let v: unknown;
  try { v = JSON.parse(line); } catch { bad('not JSON'); }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad('not a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!HEADER_KEYS.includes(k)) bad(`unknown key ${JSON.stringify(k.slice(0, 40))}`);
  for (const k of HEADER_KEYS) if (o[k] === undefined) bad(`${k} missing`);
  const argv = o.argv;
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string' || a.includes('\0'))) bad('argv must be a non-empty list of strings without NUL');
  const path = (key: string, p: unknown): string => {
    if (typeof p !== 'string' || !isNormalAbsolute(p)) bad(`${key} must be a normal absolute path`);
    return p;
  };
  const cwd = path('cwd', o.cwd);
  if (!Array.isArray(o.inputDirs)) bad('inputDirs must be a list');
  const inputDirs = (o.inputDirs as unknown[]).map((p, i) => path(`inputDirs[${i}]`, p));
  const all = [cwd, ...inputDirs];
  for (let i = 0; i < all.length; i++) {
    for (let j = 0; j < all.length; j++) {
      if (i !== j && isWithin(all[i]!, all[j]!)) bad(`${all[i]} overlaps ${all[j]}`);
    }
  }
  const e = o.env;
  if (e === null || typeof e !== 'object' || Array.isArray(e)) bad('env must be an object');
  const env: Record<string, string> = {};
  for (const [k, val] of Object.entries(e as Record<string, unknown>)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || typeof val !== 'string' || val.includes('\0')) bad(`bad environment entry ${JSON.stringify(k.slice(0, 40))}`);
    env[k] = val;
  }
  const t = o.timeoutMs;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > MAX_TIMEOUT_MS) bad('timeoutMs must be an integer from 1 to 2147483647');
  const c = o.outputCapBytes;
  if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 0) bad('outputCapBytes must be a non-negative integer');
  return { argv: argv as string[], cwd, inputDirs, env, timeoutMs: t, outputCapBytes: c };
}

export function encodeRunFrame(type: RunFrame, payload: Buffer): Buffer {
  const h = Buffer.allocUnsafe(5);
  h[0] = type;
  h.writeUInt32BE(payload.length, 1);
  return Buffer.concat([h, payload]);
}

export function encodeEnd(end: RunRecipeEnd): Buffer {
  return encodeRunFrame(RunFrame.End, Buffer.from(JSON.stringify(end)));
}

/**
 * An END payload. Rule: exactly `{kind}` for timeout, output-cap, aborted, and
 * `{kind: 'exited', code}` with code an integer 0-255 (128+N for a signal).
 */
export function parseEnd(payload: Buffer): RunRecipeEnd {
  let v: unknown;
  try { v = JSON.parse(payload.toString('utf8')); } catch { return badStream('END is not JSON'); }
  const o = (v ?? {}) as Record<string, unknown>;
  const keys = Object.keys(o).sort().join(',');
  if (o.kind === 'exited' && keys === 'code,kind' && Number.isInteger(o.code) && (o.code as number) >= 0 && (o.code as number) <= 255) {
    return { kind: 'exited', code: o.code as number };
  }
  if ((o.kind === 'timeout' || o.kind === 'output-cap' || o.kind === 'aborted') && keys === 'kind') return { kind: o.kind };
  return badStream('END is not a known outcome');
}

function badStream(why: string): never {
  throw new QbuildError('protocol', `the disposable's answer: ${why}`);
}

/**
 * Reads the service's stdout as the caller: push() bytes as they come; it returns the frames
 * completed so far and, once END has been seen, hands every later byte to `rest` (the tar).
 * Rules: only OUTPUT and END frames, each at most MAX_RUN_FRAME; one END.
 */
export class RunFrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  ended: RunRecipeEnd | undefined;

  constructor(private readonly rest: (chunk: Buffer) => void) {}

  push(chunk: Buffer): Buffer[] {
    if (this.ended) { if (chunk.length) this.rest(chunk); return []; }
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const outputs: Buffer[] = [];
    while (this.buf.length >= 5) {
      const type = this.buf[0];
      const len = this.buf.readUInt32BE(1);
      if (type !== RunFrame.Output && type !== RunFrame.End) badStream(`unknown frame type ${type}`);
      if (len > MAX_RUN_FRAME) badStream(`frame of ${len} bytes`);
      if (this.buf.length < 5 + len) break;
      const payload = this.buf.subarray(5, 5 + len);
      this.buf = this.buf.subarray(5 + len);
      if (type === RunFrame.Output) { outputs.push(payload); continue; }
      this.ended = parseEnd(payload);
      if (this.buf.length) this.rest(this.buf);
      this.buf = Buffer.alloc(0);
      break;
    }
    return outputs;
  }
}
