import { QbuildError } from '../../../errors.js';
import type { Command } from '../../../protocol/github/command/grammar.js';
import type { JobRun } from '../pipeline/job-run.js';
import type { BuildConfig, Dist, PublishedDist } from '../pipeline/types.js';
import { announcePromotion } from '../report/announce.js';
import { queueReport } from '../report/queue.js';
import { abandonPublish, completePublish, stagePromotion } from '../stages/publish.js';
import { uploadStage } from '../stages/upload.js';
import { loadBuilt, type BuiltVersion } from '../state/built-versions.js';
import type { BuildPaths } from '../state/paths.js';
import { loadPromoted, recordPromoted } from './promoted.js';

export type UploadComponentCommand = Extract<Command, { kind: 'upload-component' }>;

/** Upstream's default (qubes-builderv2 `min-age-days`): days a version sits in current-testing before it may go to current. */
export const DEFAULT_MIN_AGE_DAYS = 5;

const DAY_MS = 86_400_000;

/** One dist a promotion moves, with the version current-testing got from its last build. */
interface DistPlan { dist: Dist; built: BuiltVersion & { files: string[] } }

/** What an accepted Upload-component does: the dists to promote, and those already there. */
interface UploadPlan { todo: DistPlan[]; already: string[] }

/**
 * The checks of an Upload-component command, in order, each a refusal with its reason
 * (upstream publish plugin `can_be_published_in_stable` / `is_published`, plus qbuild's
 * stricter ones); pure reads of the build state:
 * 1. the release is this env's;
 * 2. the component is one this env builds;
 * 3. it was built (a version is recorded as published to current-testing);
 * 4. each named dist is one of the env's and was built (`all`: every dist built);
 * 5. for each dist, the built commit is exactly the named one (a command for an older or
 *    newer commit than what current-testing holds is refused);
 * 6. the version's published files were recorded (what "that version" consists of);
 * 7. if every dist already has exactly that version in the target: refused, saying so
 *    (idempotent; dists that have it are skipped when others do not);
 * 8. for `current` only, the version went into current-testing at least `min-age-days`
 *    (pillar, default 5) before `now`; `security-testing` has no minimum age (as upstream).
 */
function planUpload(paths: BuildPaths, config: BuildConfig, cmd: UploadComponentCommand, now: Date): UploadPlan | string {
  if (cmd.release !== config.release) return `release ${cmd.release} is not this env's (${config.env} builds ${config.release})`;
  if (!config.components.some((c) => c.name === cmd.component)) return `${cmd.component} is not a component of env ${config.env}`;
  const built = loadBuilt(paths, cmd.component);
  if (Object.keys(built).length === 0) return `${cmd.component} was never built in env ${config.env}`;
  let dists: Dist[];
  if (cmd.dists === 'all') {
    dists = config.dists.filter((d) => built[d.name]);
  } else {
    dists = [];
    for (const name of new Set(cmd.dists)) {
      const d = config.dists.find((x) => x.name === name);
      if (!d) return `${name} is not a dist of env ${config.env} (${config.dists.map((x) => x.name).join(', ')})`;
      if (!built[name]) return `${cmd.component} was never built for ${name}`;
      dists.push(d);
    }
  }
  if (dists.length === 0) return `${cmd.component} was built for none of the env's dists`;
  const promoted = loadPromoted(paths, cmd.component);
  const minAgeDays = config.minAgeDays ?? DEFAULT_MIN_AGE_DAYS;
  const plan: UploadPlan = { todo: [], already: [] };
  for (const dist of dists) {
    const b = built[dist.name]!;
    if (b.commit !== cmd.commit) return `${dist.name}: the built commit of ${cmd.component} is ${b.commit} (${b.version}), not ${cmd.commit}`;
    if (!b.files?.length) return `${dist.name}: ${cmd.component} ${b.version} was published without a record of its files: build it again`;
    const there = promoted[dist.name]?.[cmd.repository];
    if (there && there.version === b.version && there.commit === b.commit) {
      plan.already.push(dist.name);
      continue;
    }
    if (cmd.repository === 'current') {
      const age = now.getTime() - Date.parse(b.at);
      if (!(age >= minAgeDays * DAY_MS)) {
        const hours = Math.max(0, Math.floor(age / 3_600_000));
        return `${dist.name}: ${cmd.component} ${b.version} has been in current-testing for ${hours} h, less than min-age-days (${minAgeDays})`;
      }
    }
    plan.todo.push({ dist, built: { ...b, files: b.files } });
  }
  if (plan.todo.length === 0) return `${cmd.component} ${built[dists[0]!.name]!.version} is already in ${cmd.repository} for ${plan.already.join(', ')}`;
  return plan;
}

/** Why `cmd` must be refused now (planUpload's rules), or undefined when it may run. */
export function uploadComponentRefusal(paths: BuildPaths, config: BuildConfig, cmd: UploadComponentCommand, now: Date): string | undefined {
  const plan = planUpload(paths, config, cmd, now);
  return typeof plan === 'string' ? plan : undefined;
}

/**
 * Runs an accepted Upload-component as its own logged stages (docs/build.md, Promotion):
 *   promote-DIST          the target repository's tree staged with exactly that version's
 *                         packages from current-testing; manifest: the new metadata
 *   promote-release-DIST  the metadata signed (after that log's ticket), the tree swapped in
 *   upload                the promoted trees to the mirror, as a build's upload
 * The checks run again first (a build may have replaced the version since the command was
 * accepted). Other versions and components in the target stay as they were; the packages
 * stay in current-testing. Each promoted dist is reported `uploaded` to GitHub, and announced
 * on the issues its commits fix (announce.ts).
 */
export async function runUploadComponent(run: JobRun, cmd: UploadComponentCommand): Promise<void> {
  const plan = planUpload(run.paths, run.ctx.config, cmd, new Date());
  if (typeof plan === 'string') throw new QbuildError('stage', `Upload-component refused: ${plan}`);
  const first = plan.todo[0]!.built;
  if (!run.job.version) {
    Object.assign(run.job, { version: first.version, commit: first.commit });
    run.save();
  }
  const published: PublishedDist[] = [];
  for (const { dist, built } of plan.todo) {
    const staged = await run.stage(`promote-${dist.name}`, (log) => {
      log.write(`Upload-component ${cmd.release} ${cmd.component} ${cmd.commit} ${cmd.repository} ${dist.name}: `
        + `${cmd.component} ${built.version}, in current-testing since ${built.at} (job ${built.job})\n`);
      for (const name of plan.already) log.write(`${name}: already in ${cmd.repository}, skipped\n`);
      return stagePromotion(run.ctx, dist, built.files, cmd.repository, log);
    });
    const promoteLog = run.lastLog();
    published.push(await run.stage(`promote-release-${dist.name}`, async (log) => {
      try {
        const p = await completePublish(run.ctx, staged, promoteLog, log);
        recordPromoted(run.paths, cmd.component, dist.name, cmd.repository, {
          version: built.version, commit: built.commit, at: new Date().toISOString(), job: run.job.id,
        });
        log.write(`released ${cmd.component} ${built.version} for ${dist.name} into ${cmd.repository}: ${p.repoDir}\n`);
        return p;
      } catch (e) {
        abandonPublish(staged);
        throw e;
      }
    }));
  }
  await run.stage('upload', (log) => uploadStage(run.ctx, published, log));
  const logPath = run.lastLog();
  for (const { dist, built } of plan.todo) {
    queueReport(run.paths, {
      kind: 'uploaded', component: cmd.component, version: built.version, release: cmd.release,
      dist: dist.name, repository: cmd.repository, logPath,
    });
    const url = run.ctx.config.components.find((c) => c.name === cmd.component)?.url ?? '';
    announcePromotion(run.ctx.config, run.paths, { component: cmd.component, version: built.version, dist, commit: built.commit, url }, cmd.repository, (line) => run.say(line));
  }
}
