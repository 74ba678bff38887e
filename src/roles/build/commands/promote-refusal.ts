import type { Command } from '../../../protocol/github/command/grammar.js';
import type { BuildConfig } from '../pipeline/types.js';
import { buildIsoRefusal, buildTemplateRefusal, uploadTemplateRefusal } from '../promote/images.js';
import { uploadComponentRefusal } from '../promote/upload-component.js';
import type { BuildPaths } from '../state/paths.js';

/** Why the promotion code must refuse the command now (not built, commit differs, too young, …), or undefined. */
export function promoteRefusal(paths: BuildPaths, config: BuildConfig, command: Command, now: Date): string | undefined {
  switch (command.kind) {
    case 'upload-component': return uploadComponentRefusal(paths, config, command, now);
    case 'build-template': return buildTemplateRefusal(paths, config, command, now);
    case 'upload-template': return uploadTemplateRefusal(paths, config, command, now);
    case 'build-iso': return buildIsoRefusal(paths, config, command, now);
  }
}
