import { listJobs, type JobRecord } from './state/job-record.js';
import type { BuildPaths } from './state/paths.js';
import { running, waiting } from './state/queue.js';
import { loadBuilt } from './state/built-versions.js';

function age(iso: string | undefined, now: number): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

function stageNow(job: JobRecord | undefined): string {
  const s = job?.stages.filter((x) => x.status === 'running').pop();
  return s ? `stage ${s.name} (local log ${s.localLog})` : 'starting';
}

/**
 * `qbuild role build status`: what waits, what runs (and in which stage), and per component
 * the last finished job and the versions published per dist.
 */
export function buildStatus(p: BuildPaths, components: string[], now = Date.now()): string[] {
  const jobs = listJobs(p);
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const lines: string[] = [];
  const run = running(p);
  lines.push(`running: ${run.length ? '' : 'none'}`);
  for (const r of run) lines.push(`  ${r.component.padEnd(24)} job ${r.id}: ${stageNow(byId.get(r.id))}`);
  const wait = waiting(p);
  lines.push(`queued: ${wait.length ? '' : 'none'}`);
  for (const w of wait) lines.push(`  ${w.component.padEnd(24)} job ${w.id} (${age(byId.get(w.id)?.queuedAt, now)})`);
  lines.push('components:');
  // Command jobs (docs/commands.md) are not builds: they get their own lines below.
  const builds = jobs.filter((j) => j.kind !== 'command');
  const names = [...new Set([...components, ...builds.map((j) => j.component)])];
  for (const c of names) {
    const last = builds.filter((j) => j.component === c && j.finishedAt).pop();
    const result = last ? `${last.state}${last.version ? ` ${last.version}` : ''} ${age(last.finishedAt, now)}${last.reason ? `: ${last.reason}` : ''}` : 'never built';
    const built = Object.entries(loadBuilt(p, c)).map(([dist, v]) => `${dist}=${v.version}`).join(' ');
    lines.push(`  ${c.padEnd(24)} last: ${result}${built ? `; published: ${built}` : ''}${components.includes(c) ? '' : ' (not in this env)'}`);
  }
  const commands = jobs.filter((j) => j.kind === 'command' && j.finishedAt).slice(-5);
  if (commands.length) lines.push('last commands:');
  for (const j of commands) lines.push(`  job ${j.id}: ${j.state} ${age(j.finishedAt, now)}: ${j.command?.line ?? '?'}${j.reason ? `: ${j.reason}` : ''}`);
  return lines;
}
