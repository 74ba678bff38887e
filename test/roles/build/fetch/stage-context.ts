import type { BuildLogStream } from '../../../../src/roles/build/log-stream.js';
import type { BuildConfig, ComponentConfig, StageContext } from '../../../../src/roles/build/pipeline/types.js';

/** A log that keeps what a stage wrote, for assertions on its text. */
export interface CollectedLog extends BuildLogStream {
  text(): string;
}

export function collectingLog(): CollectedLog {
  let text = '';
  return {
    write: (d) => { text += d.toString(); },
    manifest: (sha256, label) => { text += `qbuild-sign sha256:${sha256} ${label}\n`; },
    finish: async () => 'collected',
    text: () => text,
  };
}

/** A StageContext for running a stage in-process: the given keys, a job dir, nothing else used. */
export function stageContext(workDir: string, maintainerKeys: string, signal = new AbortController().signal): StageContext {
  const config: BuildConfig = {
    vm: 'build-test', env: 'test', logsVm: 'logs', keysVm: 'keys-test', release: 'r4.3',
    dists: [], components: [], maintainerKeys, signKey: '0'.repeat(40), repositoryRoot: 'repo',
    upload: {}, sshProxyVm: 'sys-net', remoteHosts: [], commandsPublicKeys: null,
  };
  return { config, env: {}, qbuildBin: '/nonexistent', workDir, openLog: () => collectingLog(), signal };
}

export function component(url: string, maintainers: string[], minSignatures = 1, branch = 'main'): ComponentConfig {
  return {
    name: 'app', url, branch, recipes: [{ kind: 'rpm' }], maintainers, minSignatures,
    timeoutSeconds: 60, outputCapBytes: 1 << 20,
  };
}
