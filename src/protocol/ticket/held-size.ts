/**
 * The one line LogReceived prints on stdout for a v2 ticket, accepted or refused once its held
 * checkpoint was read: `checkpoint-size <n>`, the tree size that keys VM holds after the call.
 * The logs VM proves its next ticket from that size (docs/ticket.md).
 */
export const HELD_SIZE_WORD = 'checkpoint-size';

export function formatHeldSize(size: number): string {
  return `${HELD_SIZE_WORD} ${size}\n`;
}

/**
 * The size a LogReceived reply reports. Rule: the last stdout line `checkpoint-size <n>` with
 * n a decimal count without leading zeros (a safe integer); anything else reports nothing.
 */
export function parseHeldSize(stdout: string): number | undefined {
  let found: number | undefined;
  for (const line of stdout.split('\n')) {
    const m = /^checkpoint-size (0|[1-9][0-9]{0,15})$/.exec(line);
    if (m && Number.isSafeInteger(Number(m[1]))) found = Number(m[1]);
  }
  return found;
}
