import { join } from 'node:path';
import { oneLine } from '../../errors.js';
import { stateDir } from '../../config.js';
import { loadGpgLimits } from './keys-config.js';
import { listenSocketService } from './socket-server.js';
import type { ServiceHandler } from '../service.js';

/** The services the keys daemon offers as qrexec socket services, and whether each answers in-band. */
export const KEYS_SOCKET_SERVICES = ['qubes.Gpg', 'qubesbuilder.LogReceived'] as const;

/** Where the daemon binds SERVICE: `<state>/rpc/SERVICE` (the rpc entry is a symlink to it). */
export function keysSocketPath(state: string, service: string): string {
  return join(state, 'rpc', service);
}

/**
 * `qbuild role keys --serve`: the resident keys service (docs/splitgpg.md, "Resident keys
 * service"). Each call is handled in this process by the same handler the per-call stub runs,
 * so every check (option allowlist, gate, caller, concurrency bound) stays per call; it keeps
 * no keys, tickets or config in memory, each call reads them fresh (imports and new tickets
 * apply to the next call). A call that fails, throws or stalls ends only its connection.
 */
export async function serveKeys(log: (m: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<{ stop(): Promise<void> }> {
  const state = stateDir(env);
  // The handlers load once, before the first call (the per-call stub loads them per call).
  const handlers: Record<(typeof KEYS_SOCKET_SERVICES)[number], ServiceHandler> = {
    'qubes.Gpg': (await import('./gpg-service.js')).handleGpg,
    'qubesbuilder.LogReceived': (await import('./log-received-service.js')).handleLogReceived,
  };
  await Promise.all([import('./keystore.js'), import('./ticket-store.js'), import('./gate.js'), import('./gpg-actions.js'), import('./verify.js')]);
  // A bug reached from one call must not end the others' (the service manager would restart us, but mid-call).
  const onCrash = (e: unknown) => log(`a call failed outside its handler: ${oneLine(e)}`);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  // Twice keys.idleSeconds, plus a second: qubes.Gpg's own idle rule answers a stalled caller first.
  const idleMs = () => {
    try { return loadGpgLimits(env).idleSeconds * 2000 + 1000; } catch { return 61_000; }
  };
  const servers: { close(): Promise<void> }[] = [];
  for (const service of KEYS_SOCKET_SERVICES) {
    const path = keysSocketPath(state, service);
    servers.push(await listenSocketService({
      path, service, handler: handlers[service], env, idleMs, inBandExit: service !== 'qubes.Gpg', log,
    }));
    log(`serving ${service} on ${path}`);
  }
  return {
    async stop() {
      await Promise.all(servers.map((s) => s.close()));
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
      log('stopped');
    },
  };
}
