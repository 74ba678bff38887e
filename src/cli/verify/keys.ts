import { existsSync, readFileSync } from 'node:fs';
import { QbuildError, oneLine } from '../../errors.js';
import { parseVerifierKey, type NoteVerifier } from '../../protocol/note/note.js';

/**
 * The logs VM's note verifier key (`name+hash+key`, what the keys VM is provisioned with):
 * given as the key string itself or as a file holding it (one line).
 */
export function loadLogKey(value: string): NoteVerifier {
  const text = /^[^\s+]+\+[0-9a-f]{8}\+\S+$/.test(value) && !existsSync(value) ? value : readKeyFile(value, '--log-key');
  try {
    return parseVerifierKey(text.trim());
  } catch (e) {
    throw new QbuildError('usage', `--log-key: ${oneLine(e)}`);
  }
}

/** An armored OpenPGP public key file (the package signing key, the logs VM's git key). */
export function loadArmoredKey(path: string, option: string): string {
  const text = readKeyFile(path, option);
  if (!text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) throw new QbuildError('usage', `${option} ${path}: not an armored OpenPGP public key`);
  return text;
}

function readKeyFile(path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new QbuildError('usage', `${option} ${path}: ${oneLine(e)}`);
  }
}
