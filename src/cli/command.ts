import type { Argv } from 'yargs';

/** Every top-level command is made by a factory that reports its exit code through setExit. */
export type SetExit = (code: number) => void;

/** A yargs command with a handler typed by its own options (yargs' generics are not worth it). */
export interface Command {
  command: string;
  describe: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  builder?: (y: Argv<any>) => Argv<any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  handler: (args: any) => void | Promise<void>;
}
