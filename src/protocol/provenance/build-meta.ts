import { TIME_LENGTH } from '../buildlog/format.js';

/**
 * Build metadata lines: what a stage log says about the build it records, in a form the logs
 * VM can read back without parsing free text (the logs VM only ever sees the log). The build
 * VM writes them right after each stage's header line:
 *
 *   qbuild-meta <key>=<value>
 *
 * keys: component, tag, commit, release, dist, env, job, stage (docs/transparency.md).
 * Pure: strings in, values out.
 */

export const META_PREFIX = 'qbuild-meta ';
export const META_KEYS = ['component', 'tag', 'commit', 'release', 'dist', 'env', 'job', 'stage'] as const;
export type MetaKey = (typeof META_KEYS)[number];
export type BuildMeta = Partial<Record<MetaKey, string>>;

const META_RE = /^qbuild-meta ([a-z]{1,16})=([\x21-\x7e]{1,255})$/;
/** The logs VM's own `>` lines (markers) sit between the build VM's lines. */
const MARKER = ' +0000 > ';
const CUT = `${MARKER}cut: `;

/** The lines (with newlines) a stage log starts with, after its header; keys without a value are left out. */
export function formatBuildMeta(meta: BuildMeta): string {
  let out = '';
  for (const k of META_KEYS) {
    const v = meta[k];
    if (v !== undefined && /^[\x21-\x7e]{1,255}$/.test(v)) out += `${META_PREFIX}${k}=${v}\n`;
  }
  return out;
}

/**
 * Reads the metadata of a stored log (src/protocol/buildlog/format.ts) from the VM `vm`.
 * Rules: only the build VM's own lines count; the first is the stage header; the metadata is
 * the unbroken run of `qbuild-meta <key>=<value>` lines right after it (key one of META_KEYS,
 * value 1–255 printable ASCII without spaces; the first value of a key wins). The run ends at
 * the first other build VM line or at a cut line, so nothing a recipe prints later, and no
 * piece of a cut line, can add or change a value.
 */
export function readBuildMeta(log: Uint8Array, vm: string): BuildMeta {
  const own = ` +0000 ${vm}: `;
  const meta: BuildMeta = {};
  let seenHeader = false;
  let start = 0;
  const buf = Buffer.from(log.buffer, log.byteOffset, log.byteLength);
  // The block is at the top of the log: stop reading after a bounded prefix.
  const limit = Math.min(buf.length, 64 * 1024);
  // A line counts once the next stored line shows it was whole (not followed by a cut line).
  let pending: [MetaKey, string] | undefined;
  const settle = () => {
    if (pending) meta[pending[0]] ??= pending[1];
    pending = undefined;
  };
  while (start < limit) {
    let nl = buf.indexOf(0x0a, start);
    if (nl < 0) nl = buf.length;
    const line = buf.toString('latin1', start, nl);
    start = nl + 1;
    if (line.startsWith(CUT, TIME_LENGTH)) break;
    settle();
    if (line.startsWith(MARKER, TIME_LENGTH)) continue;
    if (!line.startsWith(own, TIME_LENGTH)) continue;
    const text = line.slice(TIME_LENGTH + own.length);
    if (!seenHeader) {
      seenHeader = true;
      continue;
    }
    const m = META_RE.exec(text);
    if (!m || !(META_KEYS as readonly string[]).includes(m[1]!)) break;
    pending = [m[1] as MetaKey, m[2]!];
  }
  if (start >= buf.length) settle();
  return meta;
}
