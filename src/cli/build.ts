import type { Command, SetExit } from './command.js';
import { setRoleLabel } from './report.js';

/** `qbuild build COMPONENT`: manual build, same queue and pipeline as a triggered one. */
export function buildCommand(setExit: SetExit): Command {
  return {
    command: 'build <component>',
    describe: 'queue a build of one component in this build VM and follow it (same path as a triggered build)',
    builder: (y) => y.positional('component', { type: 'string', describe: 'component name, as in the pillar' })
      .option('follow', { type: 'boolean', default: false, describe: 'also print each stage\'s live log' })
      .option('wait', { type: 'boolean', default: true, describe: 'follow the job (--no-wait only queues it)' }),
    handler: async (a: { component: string; follow: boolean; wait: boolean }) => {
      setRoleLabel('build');
      const { manualBuild } = await import('../roles/build/manual-build.js');
      setExit(await manualBuild(a.component, { follow: a.follow, wait: a.wait }));
    },
  };
}
