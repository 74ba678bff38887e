import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The keys VM's own record of every decision: `<state>/keys.log`, one line per event,
 * `<ISO time> <service> from=<vm> <outcome> <details>`. Control characters are escaped so a
 * caller cannot forge lines.
 */
export function keysLog(stateDir: string, service: string, from: string, outcome: string, details = ''): void {
  const clean = (s: string) => s.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  const lineText = `${new Date().toISOString()} ${clean(service)} from=${clean(from)} ${clean(outcome)}${details ? ' ' + clean(details) : ''}\n`;
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    appendFileSync(join(stateDir, 'keys.log'), lineText, { mode: 0o600 });
  } catch {
    // The log must not turn a refusal into a crash; the caller still gets the refusal.
  }
}
