import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Ticket } from '../../protocol/ticket/ticket.js';
import { FORM_TOKEN, SIGN_FORMS, type SignForm } from '../../protocol/signform.js';
import { writeAtomically } from '../../util/durable-file.js';

/** One digest a build VM may have signed, and the ticket that allows it. */
export interface Grant {
  /** The form the digest is of (docs/gate.md); grants written before forms existed are binary. */
  form: SignForm;
  sha256: string;
  label: string;
  expires: string;
  logPath: string;
  logSha256: string;
}

/**
 * Tickets in the keys VM's state dir: `tickets/<vm>/received/<time>-<hash>.note` keeps each
 * verified note as received; `tickets/<vm>/grants/<file>` indexes the digests so a sign
 * request costs one file read: `<hex>.json` for a binary digest, `text-sha256-<hex>.json` and
 * `clearsign-sha256-<hex>.json` for the text forms. Only the keys VM writes here, after
 * verification.
 */

const grantFile = (form: SignForm, sha256: string): string => (form === 'binary' ? `${sha256}.json` : `${FORM_TOKEN[form]}-${sha256}.json`);

export class TicketStore {
  constructor(private readonly stateDir: string) {}

  private vmDir(vm: string): string { return join(this.stateDir, 'tickets', vm); }

  save(note: Buffer, t: Ticket): number {
    const base = this.vmDir(t.buildVm);
    mkdirSync(join(base, 'received'), { recursive: true, mode: 0o700 });
    mkdirSync(join(base, 'grants'), { recursive: true, mode: 0o700 });
    const hash = createHash('sha256').update(note).digest('hex').slice(0, 16);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    // Durable before LogReceived answers: the logs VM then counts the ticket as delivered.
    writeAtomically(join(base, 'received', `${stamp}-${hash}.note`), note, 0o600, join(base, 'received', `.${stamp}-${hash}.tmp-${process.pid}`));
    let granted = 0;
    for (const d of t.digests) {
      const path = join(base, 'grants', grantFile(d.form, d.sha256));
      const old = this.readGrant(path);
      // A later expiry wins; an older ticket never shortens a grant.
      if (old && Date.parse(old.expires) >= t.expires.getTime()) continue;
      const g: Grant = { form: d.form, sha256: d.sha256, label: d.label, expires: t.expires.toISOString(), logPath: t.logPath, logSha256: t.logSha256 };
      writeAtomically(path, JSON.stringify(g) + '\n', 0o600, `${path}.tmp-${process.pid}`);
      granted++;
    }
    return granted;
  }

  private readGrant(path: string): Grant | undefined {
    try {
      const g = JSON.parse(readFileSync(path, 'utf8')) as Grant;
      return { ...g, form: g.form ?? 'binary' };
    } catch {
      return undefined;
    }
  }

  /** The grant for `sha256` in `form` to `vm`, if any (expired or not: the caller decides). */
  grant(vm: string, form: SignForm, sha256: string): Grant | undefined {
    if (!/^[0-9a-f]{64}$/.test(sha256) || !SIGN_FORMS.includes(form)) return undefined;
    return this.readGrant(join(this.vmDir(vm), 'grants', grantFile(form, sha256)));
  }

  list(vm?: string): { vm: string; grant: Grant }[] {
    const root = join(this.stateDir, 'tickets');
    if (!existsSync(root)) return [];
    const vms = vm ? [vm] : readdirSync(root).sort();
    const out: { vm: string; grant: Grant }[] = [];
    for (const v of vms) {
      const dir = join(root, v, 'grants');
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
        const g = this.readGrant(join(dir, f));
        if (g) out.push({ vm: v, grant: g });
      }
    }
    return out;
  }

  /** Legacy `gate: window`: an empty LogReceived opens the window for that VM. */
  openWindow(vm: string): void {
    const dir = join(this.stateDir, 'window');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, vm);
    writeFileSync(path, '', { mode: 0o600 });
    const now = new Date();
    utimesSync(path, now, now);
  }

  windowOpenedAt(vm: string): number | undefined {
    try {
      return statSync(join(this.stateDir, 'window', vm)).mtimeMs;
    } catch {
      return undefined;
    }
  }
}
