import { QbuildError } from '../../../errors.js';
import type { JobRun } from '../pipeline/job-run.js';
import type { BuildConfig } from '../pipeline/types.js';
import type { BuildPaths } from '../state/paths.js';
import type { UploadComponentCommand } from './commands.js';

/** Why `cmd` must be refused now (pure reads of the build state), or undefined when it may run. */
export function uploadComponentRefusal(paths: BuildPaths, config: BuildConfig, cmd: UploadComponentCommand, now: Date): string | undefined {
  void paths; void config; void cmd; void now;
  return 'Upload-component is not implemented yet';
}

/** Moves exactly that component version's packages from current-testing to the named repository. */
export async function runUploadComponent(run: JobRun, cmd: UploadComponentCommand): Promise<void> {
  void run; void cmd;
  throw new QbuildError('stage', 'Upload-component is not implemented yet');
}
