import { join } from 'node:path';

/** Where the simulator keeps each qube and its own files, under the formula directory. */
export const simPaths = (formula: string) => ({
  root: join(formula, 'sim'),
  routerPid: join(formula, 'sim', 'router.pid'),
  routerLog: join(formula, 'sim', 'router.log'),
  ready: join(formula, 'sim', 'ready'),
  /** The pid of a planned daemon while the router runs it. */
  daemonPid: (vm: string, argv: string[]) => join(formula, 'sim', `daemon-${vm}-${argv.join('_').replace(/[^A-Za-z0-9_.-]/g, '')}.pid`),
  qube: (vm: string) => {
    const dir = join(formula, 'qubes', vm);
    return {
      dir,
      home: join(dir, 'home'),
      state: join(dir, 'state'),
      rpc: join(dir, 'rpc'),
      /** First on the qube's PATH: the simulator's qrexec-client-vm (materialise writes it). */
      bin: join(dir, 'bin'),
      config: join(dir, 'qbuild.json'),
      socket: join(dir, 'qrexec.sock'),
      /** Present while the qube is halted (`sim halt`): calls to it fail as to a VM that won't start. */
      halted: join(dir, 'halted'),
      log: join(dir, 'daemons.log'),
    };
  },
});

/** The environment a process sees inside a simulated qube (design §9). */
export function qubeEnv(formula: string, vm: string, bin: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const q = simPaths(formula).qube(vm);
  return {
    PATH: `${q.bin}:${base.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`,
    ...(base.TMPDIR ? { TMPDIR: base.TMPDIR } : {}),
    ...(base.QBUILD_DEBUG ? { QBUILD_DEBUG: base.QBUILD_DEBUG } : {}),
    // build.mjs records code caches through the simulator (src/cli/sea-entry.ts).
    ...(base.QBUILD_CODE_CACHE_OUT ? { QBUILD_CODE_CACHE_OUT: base.QBUILD_CODE_CACHE_OUT } : {}),
    HOME: q.home,
    QBUILD_SIM: formula,
    QBUILD_SIM_VM: vm,
    QBUILD_CONFIG: q.config,
    QBUILD_STATE: q.state,
    QBUILD_BIN: bin,
  };
}
