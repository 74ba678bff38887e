import type { Command, SetExit } from './command.js';

/** `qbuild demo`: the whole pipeline in a fresh simulator, ending in a verified package. */
export function demoCommand(setExit: SetExit): Command {
  return {
    command: 'demo',
    describe: 'run the whole pipeline in a fresh simulator, ending in a verified package',
    builder: (y) => y
      .option('dir', { type: 'string', describe: 'work directory (default: a new one in /tmp)' })
      .option('keep', { type: 'boolean', default: false, describe: 'leave the simulator running' }),
    handler: async (a: { dir?: string; keep: boolean }) => {
      const { runDemo } = await import('../demo/pipeline.js');
      setExit(await runDemo({ ...(a.dir ? { dir: a.dir } : {}), keep: a.keep }));
    },
  };
}
