/**
 * Calls `f` every `intervalMs` until it returns a value (not undefined) or `ms` have passed;
 * one last call is made at the deadline. Resolves to the value, or undefined on timeout.
 */
export async function pollUntil<T>(f: () => Promise<T | undefined> | T | undefined, ms: number, intervalMs: number): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
