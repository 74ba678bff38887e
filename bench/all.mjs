#!/usr/bin/env node
// `npm run bench`: runs every bench/*.mjs (this one and bench/lib/ excepted), one at a time,
// passes their human output through, collects their `BENCH {json}` result lines
// (bench/lib/result.mjs) and prints ONE table: metric, qbuild, baseline, ratio, target, met,
// peak memory. Writes it to docs/performance.md with the machine it ran on.
//
//   npm run bench                         all benches (bench/pipeline.mjs takes minutes)
//   npm run bench -- sign webhook         only those
//   BENCH_QUICK=1 npm run bench           smaller inputs (buildlog 64 MiB, 256 MiB RSS log; pipeline 256 MiB)
//
// Peak memory: per metric, the RSS of the process it is about when the bench reports one
// (peakMB); otherwise the largest RSS of any process the bench ran (GNU time's %M: the bench
// script itself or its biggest waited-for child).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const bin = process.env.QBUILD_BIN || join(root, 'dist', 'qbuild');
if (!existsSync(bin)) { console.error(`bench: ${bin} missing: run npm run build (or set QBUILD_BIN)`); process.exit(2); }
const quick = !!process.env.BENCH_QUICK;
const only = process.argv.slice(2);

/** Arguments per bench: the issue's figures (a 1 GiB log for the RSS target). */
const ARGS = {
  buildlog: quick ? ['--mib', '64', '--rss-mib', '256'] : ['--mib', '128', '--rss-mib', '1024'],
};
const ENV = { pipeline: quick ? { OUTPUT_MIB: '256' } : {} };

const names = readdirSync(here).filter((f) => f.endsWith('.mjs') && f !== 'all.mjs').map((f) => f.slice(0, -4)).sort()
  .filter((n) => only.length === 0 || only.includes(n));

/** Runs one bench under GNU time; resolves with its result lines, peak RSS and exit code. */
function runBench(name) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn('/usr/bin/time', ['-f', 'BENCH_PEAK_KB %M', process.execPath, join(here, `${name}.mjs`), ...(ARGS[name] ?? [])], {
      cwd: root, env: { ...process.env, QBUILD_BIN: bin, ...(ENV[name] ?? {}) }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const results = [];
    const human = [];
    let peakKb = 0;

    const line = (l, err) => {
      const peak = /^BENCH_PEAK_KB (\d+)$/.exec(l);
      if (peak) { peakKb = Number(peak[1]); return; }
      if (l.startsWith('BENCH ')) {
        try { results.push(JSON.parse(l.slice(6))); } catch { human.push(l); }
        return;
      }
      human.push(l);
      (err ? process.stderr : process.stdout).write(`  [${name}] ${l}\n`);
    };
    for (const [stream, err] of [[child.stdout, false], [child.stderr, true]]) {
      let rest = '';
      stream.on('data', (b) => {
        rest += b.toString();
        const lines = rest.split('\n');
        rest = lines.pop();
        for (const l of lines) line(l, err);
      });
      stream.on('end', () => { if (rest) line(rest, err); });
    }
    child.on('close', (code) => resolve({ name, code, results, human, peakKb, seconds: (Date.now() - t0) / 1000 }));
  });
}

const fmtNum = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));
const started = new Date();
const runs = [];
for (const name of names) {
  console.log(`bench/${name}.mjs …`);
  runs.push(await runBench(name));
}

const header = ['metric', 'qbuild', 'baseline', 'ratio', 'target', 'met', 'peak memory'];
const rows = [];
for (const r of runs) {
  if (r.results.length === 0) {
    rows.push([`bench/${r.name}: no result lines${r.code ? ` (exit ${r.code})` : ''}`, '', '', '', '', r.code ? 'FAILED' : '?', `${fmtNum(r.peakKb / 1000)} MB`]);
    continue;
  }
  for (const x of r.results) {
    const range = x.range ? ` (${x.range.join('–')})` : '';
    rows.push([
      x.metric,
      `${fmtNum(x.qbuild)} ${x.unit}${range}`,
      `${fmtNum(x.baseline)} ${x.unit}`,
      `${x.ratio.toFixed(2)}x`,
      `${x.better === 'lower' ? '≤' : '≥'} ${x.target}x`,
      x.met ? 'yes' : 'NO',
      x.peakMB !== undefined ? `${x.peakMB} MB` : `${fmtNum(r.peakKb / 1000)} MB (bench/${r.name} max)`,
    ]);
  }
  if (r.code) rows.push([`bench/${r.name} exited ${r.code}`, '', '', '', '', 'FAILED', '']);
}
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const pad = (row) => row.map((c, i) => c.padEnd(widths[i])).join('  ');
console.log('');
console.log(pad(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of rows) console.log(pad(row));

// The machine, for docs/performance.md.
const sh = (cmd, args) => { try { return execFileSync(cmd, args, { encoding: 'utf8' }).trim(); } catch { return '?'; } };
const df = sh('df', ['-PhT', tmpdir()]).split('\n').pop()?.split(/\s+/) ?? [];
const machine = [
  `- date: ${started.toISOString()} (${runs.reduce((n, r) => n + r.seconds, 0).toFixed(0)} s in all)`,
  `- cores: ${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
  `- memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free at the end)`,
  `- disk (${tmpdir()}): ${df[1] ?? '?'} on ${df[0] ?? '?'}, ${df[2] ?? '?'}`,
  `- node ${process.version}, ${sh('uname', ['-srm'])}`,
  `- load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (a shared machine: every ratio compares with a baseline measured in the same run)`,
  `- binary: ${bin}${quick ? '; BENCH_QUICK=1 (smaller inputs)' : ''}`,
];
const md = `# Performance

Written by \`npm run bench\` (bench/all.mjs), which runs every \`bench/*.mjs\` and collects the
result lines each prints (\`BENCH {json}\`, bench/lib/result.mjs). Each ratio is qbuild's number
over a baseline measured in the same run on the same machine (the benches interleave or
alternate the two where the machine's speed drifts); a range is the spread of qbuild's repeated
measurements. Re-run it to update this file.

## Results

| ${header.join(' | ')} |
|${header.map(() => '---').join('|')}|
${rows.map((row) => `| ${row.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`).join('\n')}

## Machine

${machine.join('\n')}

## Output of each bench

${runs.map((r) => `### bench/${r.name}.mjs${r.code ? ` (exit ${r.code})` : ''}\n\n\`\`\`\n${r.human.join('\n')}\n\`\`\`\n`).join('\n')}`;
if (only.length === 0 || process.env.BENCH_WRITE) {
  writeFileSync(join(root, 'docs', 'performance.md'), md);
  console.log('\nwritten to docs/performance.md');
}
process.exitCode = runs.some((r) => r.code) ? 1 : 0;
