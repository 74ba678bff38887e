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
  const names = [...new Set([...components, ...jobs.map((j) => j.component)])];
  for (const c of names) {
    const last = jobs.filter((j) => j.component === c && j.finishedAt).pop();
    const result = last ? `${last.state}${last.version ? ` ${last.version}` : ''} ${age(last.finishedAt, now)}${last.reason ? `: ${last.reason}` : ''}` : 'never built';
    const built = Object.entries(loadBuilt(p, c)).map(([dist, v]) => `${dist}=${v.version}`).join(' ');
    lines.push(`  ${c.padEnd(24)} last: ${result}${built ? `; published: ${built}` : ''}${components.includes(c) ? '' : ' (not in this env)'}`);
  }
  return lines;
}
