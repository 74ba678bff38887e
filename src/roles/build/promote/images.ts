import { QbuildError } from '../../../errors.js';
import type { JobRun } from '../pipeline/job-run.js';
import type { BuildConfig } from '../pipeline/types.js';
import type { BuildPaths } from '../state/paths.js';
import type { Command } from '../../../protocol/github/command/grammar.js';

export type BuildTemplateCommand = Extract<Command, { kind: 'build-template' }>;
export type UploadTemplateCommand = Extract<Command, { kind: 'upload-template' }>;
export type BuildIsoCommand = Extract<Command, { kind: 'build-iso' }>;

export function buildTemplateRefusal(paths: BuildPaths, config: BuildConfig, cmd: BuildTemplateCommand, now: Date): string | undefined {
  void paths; void config; void cmd; void now;
  return 'Build-template is not implemented yet';
}
export function uploadTemplateRefusal(paths: BuildPaths, config: BuildConfig, cmd: UploadTemplateCommand, now: Date): string | undefined {
  void paths; void config; void cmd; void now;
  return 'Upload-template is not implemented yet';
}
export function buildIsoRefusal(paths: BuildPaths, config: BuildConfig, cmd: BuildIsoCommand, now: Date): string | undefined {
  void paths; void config; void cmd; void now;
  return 'Build-iso is not implemented yet';
}
export async function runBuildTemplate(run: JobRun, cmd: BuildTemplateCommand): Promise<void> {
  void run; void cmd;
  throw new QbuildError('stage', 'Build-template is not implemented yet');
}
export async function runUploadTemplate(run: JobRun, cmd: UploadTemplateCommand): Promise<void> {
  void run; void cmd;
  throw new QbuildError('stage', 'Upload-template is not implemented yet');
}
export async function runBuildIso(run: JobRun, cmd: BuildIsoCommand): Promise<void> {
  void run; void cmd;
  throw new QbuildError('stage', 'Build-iso is not implemented yet');
}
