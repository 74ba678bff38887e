/**
 * Polls `f` until it returns a truthy value and returns that value; fails naming `what` after
 * `timeoutMs`. Tests wait for the condition itself, never for a fixed time, and the deadline
 * is generous so a loaded 2-core machine does not flake.
 */
export async function waitFor<T>(
  what: string,
  f: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
