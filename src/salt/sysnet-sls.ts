import type { PlannedVm } from '../protocol/plan/plan.js';
import type { SysnetSection } from '../protocol/plan/sysnet-section.js';
import { renderNginxSnippet } from './sysnet/nginx.js';
import { SYSNET_DEPLOY } from './sysnet/paths.js';
import { renderRcLocal } from './sysnet/rc-local.js';
import { renderSystemdUnit } from './sysnet/systemd.js';
import { isLoopback, parseListenAddress } from '../util/listen-address.js';

type States = Record<string, Record<string, unknown[]>>;

/** Run at boot from rc.local (sys-net's root is reset each boot) and by Salt after a change. */
export const WEBHOOKS_START = '/rw/config/qbuild/webhooks-start.sh';

/** The deployment shape follows from `listen`: on loopback, nginx on port 80 proxies to it. */
export function webhookShape(listen: string): { nginx: boolean; port: number } {
  const { host, port } = parseListenAddress(listen); // the pillar checked it (listenProblem)
  const loopback = isLoopback(host);
  return { nginx: loopback, port: loopback ? 80 : port };
}

const SECRET_STATE = 'qbuild-webhook-secret';

/**
 * The webhook secret, made in the qube so it never passes through dom0: 32 random bytes,
 * base64 (the text pasted into GitHub's "Secret" field), 0600 and owned by `user` (the
 * listener's unit user). `creates:` makes it a one-time step: an existing secret is kept.
 * The path is a checked qube path (qubePathProblem), safe in a shell word.
 */
function secretState(secretFile: string): Record<string, unknown[]> {
  const dir = secretFile.slice(0, secretFile.lastIndexOf('/')) || '/';
  return {
    'cmd.run': [
      { name: `umask 077 && mkdir -p ${dir} && head -c 32 /dev/urandom | base64 > ${secretFile}.tmp && chown user:user ${secretFile}.tmp && mv ${secretFile}.tmp ${secretFile}` },
      { creates: secretFile },
    ],
  };
}

/**
 * sys-net's webhook listener (upstream webhooks-builder.sls / webhooks.rc-local shape): its
 * systemd unit, the nginx snippet when nginx fronts it, the firewall opening for GitHub's
 * hook ranges, and an rc.local block that sets all of that up at every boot. The webhook
 * secret is created once, when missing (random, 0600, owned by the listener's user); nginx is
 * installed for the current boot when it fronts the listener (dom0 puts it in the template).
 */
export function sysnetStates(vm: PlannedVm): States {
  const { listen, secretFile } = vm.config.sysnet as SysnetSection;
  const shape = webhookShape(listen);
  const managed = (contents: string, mode: string) => ({ 'file.managed': [{ contents }, { mode }, { makedirs: true }] });
  const states: States = {
    [SYSNET_DEPLOY.unitFile]: managed(renderSystemdUnit({ bindLowPort: !shape.nginx && shape.port < 1024 }), '0644'),
  };
  if (shape.nginx) {
    states[SYSNET_DEPLOY.nginxFile] = managed(renderNginxSnippet({ upstream: listen }), '0644');
    states['qbuild-webhooks-nginx'] = { 'pkg.installed': [{ name: 'nginx' }] };
  }
  states[SECRET_STATE] = secretState(secretFile);
  states[WEBHOOKS_START] = managed(`#!/bin/sh\n${renderRcLocal({ nginx: shape.nginx, port: shape.port })}`, '0755');
  states['qbuild-webhooks-rc.local'] = {
    'file.blockreplace': [
      { name: SYSNET_DEPLOY.rcLocal }, { marker_start: '### qbuild webhooks start ###' }, { marker_end: '### qbuild webhooks end ###' },
      { content: WEBHOOKS_START }, { append_if_not_found: true },
    ],
  };
  states['qbuild-webhooks-rc.local-executable'] = {
    'file.managed': [{ name: SYSNET_DEPLOY.rcLocal }, { replace: false }, { mode: '0755' }],
  };
  const changed = [
    { file: SYSNET_DEPLOY.unitFile }, { file: WEBHOOKS_START }, { cmd: SECRET_STATE },
    ...(shape.nginx ? [{ file: SYSNET_DEPLOY.nginxFile }, { pkg: 'qbuild-webhooks-nginx' }] : []),
  ];
  states['qbuild-webhooks-start'] = {
    'cmd.run': [{ name: `${WEBHOOKS_START} && systemctl restart ${SYSNET_DEPLOY.unitName}` }, { onchanges: changed }],
  };
  return states;
}
