import { parseDistName } from '../../protocol/build/dist.js';
import { fingerprintProblem } from '../../protocol/build/rules.js';
import type { CommandsSectionJson, Grant, MaintainerGrants } from '../../protocol/github/command/authorisation.js';
import { armoredKeyBlocks, readPillarPublicKeys, requireSigningKey } from './pillar-armored-keys.js';
import type { PillarReader } from './pillar-reader.js';

/**
 * The pillar's GitHub command keys (docs/commands.md): upstream's `commands_public_keys`
 * (the armored keys allowed to sign commands) and qbuild's `command-maintainers` (what each
 * of those signers may ask for: upstream keeps this as `github: maintainers:` in each
 * builder's builder.yml; here it is one pillar key, given to every build qube).
 */

const GRANT_KEYS = ['components', 'distributions', 'templates', 'iso'] as const;

/** `_all_`, or a list of names each checked by `check`, without repeats. */
function grant(r: PillarReader, path: string, value: unknown, check: (name: string) => string | null): Grant {
  if (value === undefined) return [];
  if (value === '_all_') return '_all_';
  const list = r.strList(path, value);
  for (const n of list) {
    const why = check(n);
    if (why) r.fail(path, `${JSON.stringify(n.slice(0, 64))}: ${why}`);
  }
  const dup = list.find((n, i) => list.indexOf(n) !== i);
  if (dup) r.fail(path, `"${dup}" listed twice`);
  return list;
}

const nameProblem = (n: string): string | null => (/^[A-Za-z0-9_-]{1,64}$/.test(n) ? null : 'must be 1-64 characters of A-Z a-z 0-9 _ -');

/**
 * `command-maintainers`: FINGERPRINT → `components`, `distributions`, `templates` (each
 * `_all_` or a list; absent = none) and `iso` (true/false; absent = false), upstream's shape.
 * Fingerprints are 40 hex (written upper case to the build qubes), each once; distributions
 * are dist names (`host-fc41`, `vm-bookworm`). Nothing else is accepted.
 */
export function parseCommandMaintainers(r: PillarReader, path: string, value: unknown): CommandsSectionJson {
  if (value === undefined) return { maintainers: {} };
  const all = r.anyMap(path, value);
  const maintainers: Record<string, MaintainerGrants> = {};
  for (const raw of Object.keys(all)) {
    const p = `${path}:${raw}`;
    const why = fingerprintProblem(raw);
    if (why) r.fail(p, why);
    const fpr = raw.toUpperCase();
    if (maintainers[fpr]) r.fail(p, `${fpr} listed twice`);
    const g = r.map(p, all[raw] ?? {}, GRANT_KEYS);
    if (g.iso !== undefined && typeof g.iso !== 'boolean') r.fail(`${p}:iso`, 'must be true or false');
    maintainers[fpr] = {
      components: grant(r, `${p}:components`, g.components, nameProblem),
      distributions: grant(r, `${p}:distributions`, g.distributions, (n) => {
        const d = parseDistName(n);
        return typeof d === 'string' ? 'not a dist name (host-<dist> or vm-<dist>)' : null;
      }),
      templates: grant(r, `${p}:templates`, g.templates, nameProblem),
      iso: g.iso === true,
    };
  }
  return { maintainers };
}

/**
 * Checks `commands_public_keys` against `command-maintainers`. Rules:
 * - the text is one or more armored OpenPGP key blocks and nothing else but blank space;
 * - no secret key, every key v4 (as maintainer-keys);
 * - every command maintainer's fingerprint is the primary fingerprint of one of those keys
 *   and that key can sign now; maintainers without keys, or keys without the text, are errors.
 * A key that no maintainer names may sign nothing (authorisation grants nothing), but its
 * signature still verifies, so the command log names who signed. Returns the keys as ONE armored block.
 */
export async function checkCommandKeys(r: PillarReader, armored: string | undefined, section: CommandsSectionJson): Promise<string | undefined> {
  const path = 'build-infra:commands_public_keys';
  const named = Object.keys(section.maintainers);
  if (armored === undefined) {
    if (named.length) r.fail(path, 'missing: build-infra:command-maintainers names signers, whose public keys must be given here');
    return undefined;
  }
  const { blocks, textOutside } = armoredKeyBlocks(armored);
  if (blocks.length === 0 || textOutside) r.fail(path, 'must be armored OpenPGP public key blocks and nothing else');
  const keys = await readPillarPublicKeys(r, path, blocks);
  for (const fpr of named) await requireSigningKey(r, `build-infra:command-maintainers:${fpr}`, keys, path, fpr, 'cannot make signatures');
  return keys.armored;
}
