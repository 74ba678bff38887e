import { QbuildError } from '../../errors.js';
import { readInputFile } from '../../util/input-file.js';
import { stateDir } from '../../config.js';
import { KeyStore } from './keystore.js';
import { keysLog } from './keys-log.js';
import { algorithmName } from './stored-key.js';

const USAGE = `usage: qbuild role keys <command>
  import [FILE|-] [--passphrase-file F]  store an armored secret key (v4 Ed25519 or RSA), mode 0600
  list                                   list stored keys (public information)
  export-public [KEY]                    print the armored public key(s)
  tickets [VM]                           list signing grants from received tickets
  status                                 gate mode, served build VM, logs key, counts
  --serve | serve                        the resident keys service: qubes.Gpg and LogReceived as qrexec socket services
  help                                   this text`;

const readInput = readInputFile;

/** `qbuild role keys ...` (keys VM administration). */
export async function runKeysCli(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  // Help needs no config: it works on any machine, before the qube is provisioned.
  if (cmd === 'help' || cmd === '--help' || cmd === '-h') { process.stdout.write(`${USAGE}\n`); return 0; }
  if (cmd === undefined) throw new QbuildError('usage', 'name a command (see qbuild role keys help)');
  if (cmd === '--serve' || cmd === 'serve') {
    if (rest.length) throw new QbuildError('usage', `${cmd} takes no arguments (see qbuild role keys help)`);
    const [{ serveKeys }, { untilSignal }] = await Promise.all([import('./serve.js'), import('../../util/until-signal.js')]);
    const log = (m: string) => process.stderr.write(`${new Date().toISOString()} keys: ${m.replace(/[\r\n]+/g, ' ')}\n`);
    await untilSignal(await serveKeys(log));
    return 0;
  }
  if (cmd.startsWith('-')) throw new QbuildError('usage', `unknown option ${JSON.stringify(cmd.slice(0, 40))} (see qbuild role keys help)`);
  const state = stateDir();
  const store = new KeyStore(state);
  const out = (s: string) => process.stdout.write(s);
  switch (cmd) {
    case 'import': {
      let file: string | undefined;
      let passphrase: string | undefined;
      for (let i = 0; i < rest.length; i++) {
        const a = rest[i]!;
        if (a === '--passphrase-file') {
          const p = rest[++i];
          if (p === undefined) throw new QbuildError('usage', '--passphrase-file needs a file');
          passphrase = readInput(p).replace(/\r?\n$/, '');
        } else if (a.startsWith('-') && a !== '-') {
          throw new QbuildError('usage', `unknown option ${a} (see qbuild role keys help)`);
        } else if (file === undefined) file = a;
        else throw new QbuildError('usage', 'import takes one file');
      }
      const { importArmoredSecretKey } = await import('./import-key.js');
      const key = await importArmoredSecretKey(readInput(file), passphrase);
      const path = store.save(key);
      keysLog(state, 'role-keys', 'local', 'imported', key.fingerprint);
      out(`imported ${key.fingerprint} ${algorithmName(key)} ${key.userIds.join(', ')}\n  stored in ${path} (0600)\n`);
      return 0;
    }
    case 'list': {
      if (rest.length) throw new QbuildError('usage', 'list takes no arguments');
      for (const k of store.list()) {
        const sub = k.signer.fingerprint !== k.fingerprint ? ` (signing subkey ${k.signer.fingerprint})` : '';
        out(`${k.fingerprint} ${algorithmName(k)} ${new Date(k.created * 1000).toISOString().slice(0, 10)} ${k.userIds.join(', ')}${sub}\n`);
      }
      return 0;
    }
    case 'export-public': {
      if (rest.length > 1) throw new QbuildError('usage', 'export-public takes at most one key');
      const keys = rest[0] === undefined ? store.list() : [store.find(rest[0])].filter((k) => k !== undefined);
      if (keys.length === 0) throw new QbuildError('usage', rest[0] === undefined ? 'no keys stored' : `no such key: ${rest[0]}`);
      const { armor } = await import('../../protocol/pgp/armor.js');
      out(armor('PGP PUBLIC KEY BLOCK', Buffer.concat(keys.map((k) => Buffer.from(k.publicKey, 'base64')))));
      return 0;
    }
    case 'tickets': {
      const { TicketStore } = await import('./ticket-store.js');
      const { FORM_TOKEN } = await import('../../protocol/signform.js');
      const now = Date.now();
      for (const { vm, grant } of new TicketStore(state).list(rest[0])) {
        out(`${vm} ${FORM_TOKEN[grant.form]}:${grant.sha256} ${grant.label} expires=${grant.expires}${Date.parse(grant.expires) <= now ? ' (expired)' : ''} log=${grant.logPath}\n`);
      }
      return 0;
    }
    case 'status': {
      const { loadKeysConfig } = await import('./keys-config.js');
      const { TicketStore } = await import('./ticket-store.js');
      const c = loadKeysConfig();
      out(`keys VM ${c.vm}: signs for ${c.buildVm}; tickets from ${c.logsVm}; gate ${c.gate}${c.gate === 'window' ? ` (${c.windowSeconds} s, legacy opt-in)` : ''}\n`);
      out(`logs public key: ${c.logsPublicKey ? c.logsPublicKey : 'NOT PROVISIONED (tickets cannot be verified)'}\n`);
      out(`keys: ${store.list().length}; grants: ${new TicketStore(state).list().length}\n`);
      return 0;
    }
    default:
      throw new QbuildError('usage', `unknown ${cmd.startsWith('-') ? 'option' : 'command'} ${JSON.stringify(cmd.slice(0, 40))} (see qbuild role keys help)`);
  }
}
