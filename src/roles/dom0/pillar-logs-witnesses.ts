import { parseWitnessVerifierKey } from '../../protocol/tlog/cosignature.js';
import type { PillarReader } from './pillar-reader.js';
import { remoteUrlProblem } from './pillar-rules.js';

/** One C2SP tlog-witness a logs VM submits its checkpoints to (docs/transparency.md). */
export interface LogsWitness {
  url: string;
  vkey: string;
}

/**
 * `build-infra:logs-witnesses`: logs VM → the witnesses it sends each signed checkpoint to,
 * provisioned as the logs qube's `logs.witnesses`. Rules: keys are logs VMs some env uses
 * (`isLogsVm`); each value a list of mappings with exactly `url` (an http(s) URL without
 * credentials: the witness's submission prefix) and `vkey` (a witness verifier key,
 * `<name>+<8 hex>+<base64(0x04 || key)>`, its hash matching); no URL or vkey twice.
 */
export function parseLogsWitnesses(
  r: PillarReader, path: string, value: unknown, isLogsVm: (vm: string) => boolean,
): Record<string, LogsWitness[]> {
  if (value === undefined) return {};
  const m = r.anyMap(path, value);
  const out: Record<string, LogsWitness[]> = {};
  for (const vm of Object.keys(m)) {
    const p = `${path}:${vm}`;
    if (!isLogsVm(vm)) r.fail(p, `"${vm}" is not the logs VM of any build environment`);
    const list = m[vm];
    if (!Array.isArray(list)) r.fail(p, 'must be a list of {url, vkey}');
    out[vm] = list.map((w, i) => {
      const e = r.map(`${p}:${i}`, w, ['url', 'vkey']);
      if (e.url === undefined) r.fail(`${p}:${i}:url`, 'missing');
      if (e.vkey === undefined) r.fail(`${p}:${i}:vkey`, 'missing');
      const url = r.str(`${p}:${i}:url`, e.url);
      const problem = remoteUrlProblem(url);
      if (problem) r.fail(`${p}:${i}:url`, problem);
      const vkey = r.str(`${p}:${i}:vkey`, e.vkey).trim();
      r.check(`${p}:${i}:vkey`, () => parseWitnessVerifierKey(vkey));
      return { url, vkey };
    });
    for (const k of ['url', 'vkey'] as const) {
      const seen = out[vm]!.map((w) => w[k]);
      const dup = seen.find((x, i) => seen.indexOf(x) !== i);
      if (dup) r.fail(p, `${k} ${JSON.stringify(dup.slice(0, 60))} listed twice`);
    }
  }
  return out;
}
