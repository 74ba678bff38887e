import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { QbuildError } from '../../errors.js';
import { generateNoteKey, parseSignerKey, verifierKeyOf, type NoteSigner } from '../../protocol/note/note.js';
import type { LogsSettings } from './settings.js';

/** Writes a secret file readable by its owner only. */
export function writeSecret(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** The Ed25519 note key that signs tickets; made on first use. */
export function ensureNoteKey(s: LogsSettings): { signer: NoteSigner; created: boolean } {
  let created = false;
  if (!existsSync(s.noteKeyFile)) {
    writeSecret(s.noteKeyFile, `${generateNoteKey(s.noteKeyName).signerKey}\n`);
    created = true;
  }
  return { signer: loadNoteKey(s), created };
}

export function loadNoteKey(s: LogsSettings): NoteSigner {
  let text: string;
  try {
    text = readFileSync(s.noteKeyFile, 'utf8');
  } catch (e) {
    throw new QbuildError('config', `cannot read the note key ${s.noteKeyFile}: ${(e as Error).message} (run: qbuild role logs init)`);
  }
  return parseSignerKey(text.trim());
}

export function noteVerifierKey(s: LogsSettings): string {
  return verifierKeyOf(loadNoteKey(s));
}

/** Where the public half of the commit-signing key is kept (for auditors and `status`). */
export function pgpPublicFile(s: LogsSettings): string {
  return join(s.state, 'pgp-public.asc');
}

/** The OpenPGP commit-signing key; generated (v4 Ed25519) when missing. */
export async function ensurePgpKey(s: LogsSettings): Promise<{ fingerprint: string; created: boolean }> {
  const { generatePgpKey, loadCommitSigner } = await import('./daemon/pgp.js');
  let created = false;
  if (!existsSync(s.pgpKeyFile)) {
    const k = await generatePgpKey(s.committer.name, s.committer.email);
    writeSecret(s.pgpKeyFile, k.secret);
    created = true;
  }
  const signer = await loadCommitSigner(s.pgpKeyFile);
  writeFileSync(pgpPublicFile(s), signer.publicArmored);
  return { fingerprint: signer.fingerprint, created };
}

/** Imports an armored secret key as the commit-signing key (checked before it replaces anything). */
export async function importPgpKey(s: LogsSettings, armored: string, source: string): Promise<string> {
  const { parseCommitSigner } = await import('./daemon/pgp.js');
  // Checked before anything is written; errors name the file the operator gave.
  const signer = await parseCommitSigner(armored, source);
  writeSecret(s.pgpKeyFile, armored);
  writeFileSync(pgpPublicFile(s), signer.publicArmored);
  return signer.fingerprint;
}
