// Machine-readable bench results: one line per metric, `BENCH {json}`, next to each bench's
// human output. bench/all.mjs collects them into one table (docs/performance.md).
//   metric    what is measured (one short phrase)
//   qbuild    qbuild's number; baseline: the reference measured in the same run
//   unit      ms, MB/s, req/s, MB, x
//   better    'lower' or 'higher' (for qbuild vs baseline)
//   target    the ratio qbuild/baseline must stay <= (better lower) or >= (better higher);
//             for an absolute limit (peak RSS) baseline is the limit and target 1
//   range     optional [min, max] of qbuild's repeated measurements
//   peakMB    optional: peak RSS of the process the metric is about
export function result(r) {
  const ratio = r.qbuild / r.baseline;
  const met = r.better === 'lower' ? ratio <= r.target : ratio >= r.target;
  const line = { ...r, ratio: Number(ratio.toFixed(3)), met };
  console.log(`BENCH ${JSON.stringify(line)}`);
  return line;
}
