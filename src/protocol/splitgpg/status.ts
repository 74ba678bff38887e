/**
 * GnuPG status lines (`--status-fd`, doc/DETAILS in GnuPG) that rpm, git and debsign read.
 * git requires `\n[GNUPG:] SIG_CREATED ` in what it reads, so SIG_CREATED never comes first.
 */
const line = (s: string) => `[GNUPG:] ${s}\n`;

export interface SigCreated {
  /** D detached, S standard, C cleartext. */
  type: 'D' | 'S' | 'C';
  pkAlgo: number;
  hashAlgo: number;
  sigClass: number;
  created: number;
  /** Fingerprint of the key that made the signature (the signing subkey, if any). */
  fingerprint: string;
}

export function signingStatus(primaryFingerprint: string, s: SigCreated): string {
  return line(`KEY_CONSIDERED ${primaryFingerprint} 0`)
    + line(`BEGIN_SIGNING H${s.hashAlgo}`)
    + line(`SIG_CREATED ${s.type} ${s.pkAlgo} ${s.hashAlgo} ${s.sigClass.toString(16).padStart(2, '0')} ${s.created} ${s.fingerprint}`);
}

/** What gpg reports when `-u` names no usable secret key (INV_SGNR reason 9: no secret key). */
export function noSecretKeyStatus(spec: string): string {
  return line(`INV_SGNR 9 ${spec}`) + line('FAILURE sign 17');
}

export function failureStatus(location: string, code: number): string {
  return line(`FAILURE ${location} ${code}`);
}

export interface GoodSig {
  keyId: string;
  userId: string;
  signerFingerprint: string;
  primaryFingerprint: string;
  created: number;
  pkAlgo: number;
  hashAlgo: number;
  sigClass: number;
}

export function goodSigStatus(g: GoodSig): string {
  const date = new Date(g.created * 1000).toISOString().slice(0, 10);
  return line(`NEWSIG`)
    + line(`KEY_CONSIDERED ${g.primaryFingerprint} 0`)
    + line(`GOODSIG ${g.keyId} ${g.userId}`)
    + line(`VALIDSIG ${g.signerFingerprint} ${date} ${g.created} 0 4 0 ${g.pkAlgo} ${g.hashAlgo} ${g.sigClass.toString(16).padStart(2, '0')} ${g.primaryFingerprint}`)
    + line('TRUST_ULTIMATE 0 pgp');
}

export function badSigStatus(keyId: string, userId: string): string {
  return line('NEWSIG') + line(`BADSIG ${keyId} ${userId}`);
}

export function noPubkeyStatus(keyId: string, pkAlgo: number, hashAlgo: number, sigClass: number, created: number): string {
  return line('NEWSIG')
    + line(`ERRSIG ${keyId} ${pkAlgo} ${hashAlgo} ${sigClass.toString(16).padStart(2, '0')} ${created} 9`)
    + line(`NO_PUBKEY ${keyId}`);
}
