import type { ServiceHandler } from './service.js';

/**
 * Every qrexec service qbuild offers, and the role module that implements it. Modules load
 * lazily so a call only pays for the code of its own service (design §2: start-up time).
 */
export const SERVICES: Record<string, () => Promise<ServiceHandler>> = {
  'qubesbuilder.BuildLog': async () => (await import('./logs/buildlog-service.js')).handleBuildLog,
  'qubesbuilder.LogReceived': async () => (await import('./keys/log-received-service.js')).handleLogReceived,
  'qubes.Gpg': async () => (await import('./keys/gpg-service.js')).handleGpg,
  'qubesbuilder.TriggerBuild': async () => (await import('./build/trigger-service.js')).handleTriggerBuild,
  'qubesbuilder.ProcessGithubCommand': async () => (await import('./build/command-service.js')).handleProcessGithubCommand,
  // Inside a build env's disposable qube (docs/build.md Executors).
  'qubesbuilder.RunRecipe': async () => (await import('./build/dispvm/run-recipe-service.js')).handleRunRecipe,
  'local.ConnectSSH': async () => (await import('./sysnet/connect-ssh-service.js')).handleConnectSSH,
  // A service that does nothing: measures start-up (bench/startup) and checks a qube's wiring.
  'qbuild.Noop': async () => async () => 0,
};

export function isKnownService(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(SERVICES, name);
}
