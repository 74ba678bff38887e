import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Only the end of a log is read: a chatty recipe's log can be gigabytes. */
const TAIL_BYTES = 64 * 1024;

/**
 * The last `n` lines of the build VM's own copy of a stage's log (pipeline/stage-log.ts), for
 * a failure report; [] when the copy is unreadable (it is a convenience, the evidence is in
 * the logs VM). Control characters other than tab are dropped: they would garble the comment.
 */
export function logTail(path: string, n: number): string[] {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    let lines = buf.toString('utf8').split('\n');
    if (size > len) lines = lines.slice(1); // the first one is cut
    if (lines[lines.length - 1] === '') lines.pop(); // the log's final newline
    return lines.map((l) => l.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')).slice(-n);
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
