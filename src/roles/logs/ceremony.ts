import { initStore } from './daemon/serve.js';
import { noteVerifierKey } from './keys.js';
import type { LogsSettings } from './settings.js';

/** The command an operator runs in the logs qube; named by provision's warning and the docs. */
export const CEREMONY_COMMAND = 'qbuild role logs init --pillar-lines';

/** YAML words a plain key would not stay a string as (YAML 1.1 and 1.2 booleans/nulls). */
const YAML_WORDS = /^(?:null|true|false|yes|no|on|off|y|n|~)$/i;

/**
 * The pillar lines giving the keys VMs this logs VM's ticket verifier key, indented to paste
 * under `build-infra:` (docs/pillar.md). The key is written as a double-quoted YAML (JSON)
 * string; the VM name plain, unless YAML would read it as something else.
 */
export function pillarLines(vm: string, verifierKey: string): string {
  const key = YAML_WORDS.test(vm) ? JSON.stringify(vm) : vm;
  return `  logs-public-keys:\n    ${key}: ${JSON.stringify(verifierKey)}\n`;
}

/**
 * The key ceremony (`init --pillar-lines`): creates the store and the keys when missing
 * (keeping existing ones, so running it again prints the same lines), reports what it did on
 * `log`, and returns exactly the pillar lines to paste.
 */
export async function keyCeremony(s: LogsSettings, log: (line: string) => void): Promise<string> {
  await initStore(s, log);
  return pillarLines(s.vm, noteVerifierKey(s));
}
