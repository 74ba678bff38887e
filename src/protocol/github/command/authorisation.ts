import { ConfigReader } from '../../../util/config-reader.js';
import type { Command } from './grammar.js';

/**
 * Who may sign which command (upstream qubes-builderv2-github github-action.py, its
 * `github: maintainers:` config): per signer's primary key fingerprint, the components
 * (Upload-component), distributions (Upload-component's dists), templates (Build-template,
 * Upload-template) and whether Build-iso. `_all_` grants every one; a key left out grants
 * nothing. Pure: the `commands` section of a build qube's qbuild.json in, verdicts out.
 */
export type Grant = '_all_' | string[];

export interface MaintainerGrants {
  components: Grant;
  distributions: Grant;
  templates: Grant;
  iso: boolean;
}

/** The `commands` section of a build qube's qbuild.json, written by `qbuild provision`. */
export interface CommandsSectionJson {
  /** Upper-case 40-hex primary key fingerprint → what that signer may ask for. */
  maintainers: Record<string, MaintainerGrants>;
}

const GRANT_KEYS = ['components', 'distributions', 'templates', 'iso'] as const;

function grant(r: ConfigReader, key: string, v: unknown): Grant {
  if (v === '_all_') return '_all_';
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(x))) return r.fail(key, 'must be "_all_" or a list of names');
  return v as string[];
}

/**
 * Reads the section strictly (src/util/config-reader.ts): only `maintainers`; each key a 40-hex
 * fingerprint written in upper case; each value has exactly `components`, `distributions`,
 * `templates` (each `_all_` or a list of names) and `iso` (a boolean). An absent section
 * grants nothing. `file` is the config's path, for messages.
 */
export function parseCommandsSection(v: unknown, file?: string): CommandsSectionJson {
  if (v === undefined) return { maintainers: {} };
  const r: ConfigReader = new ConfigReader(file);
  const s = r.object('commands', v, ['maintainers']);
  const m = r.map('commands.maintainers', s.maintainers);
  const out: Record<string, MaintainerGrants> = {};
  for (const [fpr, g] of Object.entries(m)) {
    const key = `commands.maintainers.${fpr}`;
    if (!/^[0-9A-F]{40}$/.test(fpr)) r.fail(key, 'must be an upper-case 40-hex fingerprint');
    const e = r.object(key, g, GRANT_KEYS);
    if (typeof e.iso !== 'boolean') r.fail(`${key}.iso`, 'must be true or false');
    out[fpr] = {
      components: grant(r, `${key}.components`, e.components),
      distributions: grant(r, `${key}.distributions`, e.distributions),
      templates: grant(r, `${key}.templates`, e.templates),
      iso: e.iso as boolean,
    };
  }
  return { maintainers: out };
}

const grants = (g: Grant, name: string): boolean => g === '_all_' || g.includes(name);

/**
 * The command as the signer may run it, or why not. Rules:
 * - the signer must be listed;
 * - Upload-component: the component must be granted; named dists must each be granted
 *   and be dists of this env; `all` means the env's dists the signer is granted (upstream's
 *   filter), and is refused when that leaves none; the result names them explicitly;
 * - Build-template / Upload-template: the template must be granted;
 * - Build-iso: `iso` must be true.
 */
export function authorise(command: Command, signer: string, section: CommandsSectionJson, envDists: readonly string[]): Command | string {
  const g = section.maintainers[signer];
  if (!g) return `signer ${signer} is not a maintainer allowed to sign commands`;
  switch (command.kind) {
    case 'upload-component': {
      if (!grants(g.components, command.component)) return `signer ${signer} may not upload component ${command.component}`;
      if (command.dists === 'all') {
        const dists = envDists.filter((d) => grants(g.distributions, d));
        if (dists.length === 0) return `signer ${signer} may upload to none of this env's dists (${envDists.join(', ') || 'none'})`;
        return { ...command, dists };
      }
      for (const d of command.dists) {
        if (!envDists.includes(d)) return `dist ${d} is not built by this env (${envDists.join(', ') || 'none'})`;
        if (!grants(g.distributions, d)) return `signer ${signer} may not upload to dist ${d}`;
      }
      return command;
    }
    case 'build-template':
    case 'upload-template':
      return grants(g.templates, command.template) ? command : `signer ${signer} may not build or upload template ${command.template}`;
    case 'build-iso':
      return g.iso ? command : `signer ${signer} may not build the ISO`;
  }
}
