import { QbuildError } from '../../errors.js';
import { readInputFile } from '../../util/input-file.js';
import { untilSignal } from '../../util/until-signal.js';
import { loadLogsSettings } from './settings.js';

const USAGE = `usage: qbuild role logs COMMAND
  --serve | serve        run the log store daemon (git publishing, tickets, live view)
  init [--pillar-lines]  create the store, its git repository and the signing keys; --pillar-lines prints only the pillar lines to paste
  import-key FILE|-      use this armored OpenPGP secret key (v4, unprotected) to sign commits
  status                 pending pushes and tickets, last ticket, keys
  verifier-key           print the ticket verifier key (for the keys VMs' logsPublicKey)
  git-key                print the armored public key that signs the logs repository's commits (for qbuild verify --git-key)
  help                   this text`;

const KNOWN = new Set(['--serve', 'serve', 'init', 'import-key', 'status', 'verifier-key', 'git-key']);
const NO_ARGS = new Set(['--serve', 'serve', 'status', 'verifier-key', 'git-key']);

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function daemonLog(m: string): void {
  process.stderr.write(`${new Date().toISOString()} logs: ${m.replace(/[\r\n]+/g, ' ')}\n`);
}

/** `qbuild role logs ...` (issue 3). Heavy modules load only in the commands that need them. */
export async function runLogsCli(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  // Help needs no config: it works on any machine, before the qube is provisioned.
  if (cmd === 'help' || cmd === '--help' || cmd === '-h') { say(USAGE); return 0; }
  if (cmd === undefined) throw new QbuildError('usage', 'name a command (see qbuild role logs help)');
  if (!KNOWN.has(cmd)) throw new QbuildError('usage', `unknown ${cmd.startsWith('-') ? 'option' : 'command'} ${JSON.stringify(cmd.slice(0, 40))} (see qbuild role logs help)`);
  // Arguments are checked before the config is read: a typo is named even outside a logs qube.
  if (NO_ARGS.has(cmd) && rest.length) throw new QbuildError('usage', `${cmd} takes no arguments, got ${JSON.stringify(rest[0]!.slice(0, 40))} (see qbuild role logs help)`);
  if (cmd === 'import-key' && rest.length !== 1) throw new QbuildError('usage', 'import-key takes one FILE (or - for stdin) (see qbuild role logs help)');
  const s = loadLogsSettings();
  switch (cmd) {
    case '--serve':
    case 'serve': {
      const { serveLogs } = await import('./daemon/serve.js');
      const d = await serveLogs(s, daemonLog);
      await untilSignal(d);
      return 0;
    }
    case 'init': {
      if (rest.length === 1 && rest[0] === '--pillar-lines') {
        // The key ceremony: progress on stderr, stdout exactly what goes into the pillar.
        const { keyCeremony } = await import('./ceremony.js');
        process.stdout.write(await keyCeremony(s, (m) => process.stderr.write(`${m}\n`)));
        return 0;
      }
      if (rest.length) throw new QbuildError('usage', `unknown argument ${JSON.stringify(rest[0]!.slice(0, 40))} to init (see qbuild role logs help)`);
      const { initStore } = await import('./daemon/serve.js');
      await initStore(s, say);
      const { noteVerifierKey } = await import('./keys.js');
      say(`store: ${s.store}`);
      say(`ticket verifier key: ${noteVerifierKey(s)}`);
      return 0;
    }
    case 'import-key': {
      const text = readInputFile(rest[0]);
      const { importPgpKey } = await import('./keys.js');
      say(`commit signing key: ${await importPgpKey(s, text, rest[0] === '-' ? 'stdin' : rest[0]!)}`);
      return 0;
    }
    case 'status': {
      const { status } = await import('./status.js');
      for (const line of await status(s)) say(line);
      return 0;
    }
    case 'verifier-key': {
      const { noteVerifierKey } = await import('./keys.js');
      say(noteVerifierKey(s));
      return 0;
    }
    case 'git-key': {
      const { loadCommitSigner } = await import('./daemon/pgp.js');
      process.stdout.write((await loadCommitSigner(s.pgpKeyFile)).publicArmored);
      return 0;
    }
    default:
      throw new QbuildError('internal', `logs command ${cmd} has no handler`);
  }
}
