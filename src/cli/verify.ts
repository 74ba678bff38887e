import type { Command, SetExit } from './command.js';
import { pathOption } from './path-option.js';
import { setRoleLabel } from './report.js';
import { QbuildError } from '../errors.js';

const USAGE = 'usage: qbuild verify package FILE [--signature SIG | --release InRelease --packages Packages] --signing-key KEY.asc | ledger | log PATH, with --logs-repo DIR --log-key VKEY [--git-key KEY.asc] [--witness-key VKEY]...';

/**
 * `qbuild verify`: an auditor's check, from a clone of the logs repository and the public
 * keys, that a package's signature names a published, Merkle-logged, signed build log
 * (docs/transparency.md). Each check passed is one line; the first that fails is the error.
 */
export function verifyCommand(setExit: SetExit): Command {
  return {
    command: 'verify [what] [target]',
    describe: 'audit: package signature <-> ledger entry <-> checkpoint <-> signed git commit <-> provenance (package FILE | ledger | log PATH)',
    builder: (y) => y
      .positional('what', { type: 'string', choices: ['package', 'ledger', 'log'] })
      .positional('target', { type: 'string', describe: 'package: the file; log: the log path in the repository' })
      .option('logs-repo', { type: 'string', describe: 'a clone of the logs git repository' })
      .option('log-key', { type: 'string', describe: "the logs VM's note verifier key (name+hash+key), or a file holding it" })
      .option('signing-key', { type: 'string', describe: 'package: the armored public key packages are signed with' })
      .option('signature', { type: 'string', describe: 'package: a detached signature of FILE' })
      .option('release', { type: 'string', describe: "package: a .deb's suite InRelease (the deb is checked through it)" })
      .option('packages', { type: 'string', describe: 'package: the Packages (or Packages.gz) index that InRelease lists, naming the .deb' })
      .option('git-key', { type: 'string', describe: "the logs VM's armored OpenPGP key, to check the signed git commits" })
      .option('witness-key', { type: 'string', array: true, describe: 'a witness vkey that must have cosigned the checkpoint (repeatable)' }),
    handler: async (a: { what?: string; target?: string; logsRepo?: string; logKey?: string; signingKey?: string; signature?: string; release?: string; packages?: string; gitKey?: string; witnessKey?: string[] }) => {
      setRoleLabel('verify');
      // Checked here, not by yargs' demandOption: yargs reports missing values before unknown
      // options, and a mistyped flag should be named first.
      if (!a.what) throw new QbuildError('usage', `name what to verify; ${USAGE}`);
      if (!a.logsRepo) throw new QbuildError('usage', `verify needs --logs-repo; ${USAGE}`);
      if (!a.logKey) throw new QbuildError('usage', `verify needs --log-key; ${USAGE}`);
      const repoDir = pathOption('logs-repo', a.logsRepo, USAGE)!;
      const signature = pathOption('signature', a.signature, USAGE);
      const release = pathOption('release', a.release, USAGE);
      const packages = pathOption('packages', a.packages, USAGE);
      const gitKeyFile = pathOption('git-key', a.gitKey, USAGE);
      const signingKeyFile = pathOption('signing-key', a.signingKey, USAGE);
      const { loadArmoredKey, loadLogKey } = await import('./verify/keys.js');
      const cmd = await import('./verify/commands.js');
      const v = {
        repo: cmd.LogsRepo.open(repoDir),
        logKey: loadLogKey(a.logKey),
        gitKey: gitKeyFile === undefined ? undefined : loadArmoredKey(gitKeyFile, '--git-key'),
        witnessKeys: (a.witnessKey ?? []).map(String),
        out: (line: string) => { process.stdout.write(`${line}\n`); },
      };
      switch (a.what) {
        case 'package': {
          if (!a.target) throw new QbuildError('usage', `verify package needs FILE; ${USAGE}`);
          if (!signingKeyFile) throw new QbuildError('usage', `verify package needs --signing-key; ${USAGE}`);
          setExit(cmd.verifyPackage(v, a.target, { signature, release, packages }, loadArmoredKey(signingKeyFile, '--signing-key')));
          break;
        }
        case 'log':
          if (!a.target) throw new QbuildError('usage', `verify log needs PATH; ${USAGE}`);
          setExit(cmd.verifyLog(v, a.target));
          break;
        default:
          if (a.target) throw new QbuildError('usage', `verify ledger takes no argument; ${USAGE}`);
          setExit(cmd.verifyLedger(v));
      }
    },
  };
}
