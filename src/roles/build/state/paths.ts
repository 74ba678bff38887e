import { join } from 'node:path';

/**
 * Where the build role keeps its durable state, under the qube's state dir:
 *   build/queue/<component>     id of the job waiting for that component (at most one: triggers coalesce)
 *   build/running/<component>   id of the job running for it (moved here from queue/ by rename)
 *   build/jobs/<id>.json        the job's record (state, stages, their logs, result)
 *   build/jobs/<id>/<stage>.log the build VM's own copy of each stage's log (for --follow)
 *   build/built/<component>.json the version last published per dist
 *   build/work/<id>/            the job's scratch dir (checkout, outputs), removed afterwards
 *   build/runs/<pgid>           a recipe process group running now (killed by a restarted daemon)
 */
export function buildPaths(stateDir: string) {
  const root = join(stateDir, 'build');
  return {
    root,
    queue: join(root, 'queue'),
    running: join(root, 'running'),
    jobs: join(root, 'jobs'),
    job: (id: string) => join(root, 'jobs', `${id}.json`),
    stageLog: (id: string, stage: string) => join(root, 'jobs', id, `${stage}.log`),
    built: (component: string) => join(root, 'built', `${component}.json`),
    work: (id: string) => join(root, 'work', id),
    runs: join(root, 'runs'),
    daemonPid: join(root, 'daemon.pid'),
  };
}

export type BuildPaths = ReturnType<typeof buildPaths>;
