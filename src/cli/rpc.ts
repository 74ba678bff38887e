import type { Command, SetExit } from './command.js';
import { SERVICES } from '../roles/registry.js';

/** `qbuild rpc SERVICE [ARG]` (normally reached through main.ts's fast path). */
export function rpcCommand(setExit: SetExit): Command {
  return {
    command: 'rpc <service> [argument]',
    describe: 'run a qrexec service (what the /usr/local/etc/qubes-rpc stubs exec)',
    builder: (y) => y.positional('service', { type: 'string' }).positional('argument', { type: 'string' })
      .epilogue(`services:\n${Object.keys(SERVICES).map((s) => `  ${s}`).join('\n')}`),
    handler: async (a: { service: string; argument?: string }) => {
      const { runRpc } = await import('./rpc-run.js');
      setExit(await runRpc(a.service, a.argument === undefined ? [] : [a.argument]));
    },
  };
}
