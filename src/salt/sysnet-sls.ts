import type { PlannedVm } from '../roles/dom0/plan.js';
import type { SysnetSection } from '../roles/dom0/config/sysnet.js';
import { renderNginxSnippet } from '../roles/sysnet/deploy/nginx.js';
import { SYSNET_DEPLOY } from '../roles/sysnet/deploy/paths.js';
import { renderRcLocal } from '../roles/sysnet/deploy/rc-local.js';
import { renderSystemdUnit } from '../roles/sysnet/deploy/systemd.js';
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

/**
 * sys-net's webhook listener (upstream webhooks-builder.sls / webhooks.rc-local shape): its
 * systemd unit, the nginx snippet when nginx fronts it, the firewall opening for GitHub's
 * hook ranges, and an rc.local block that sets all of that up at every boot.
 */
export function sysnetStates(vm: PlannedVm): States {
  const { listen } = vm.config.sysnet as SysnetSection;
  const shape = webhookShape(listen);
  const managed = (contents: string, mode: string) => ({ 'file.managed': [{ contents }, { mode }, { makedirs: true }] });
  const states: States = {
    [SYSNET_DEPLOY.unitFile]: managed(renderSystemdUnit({ bindLowPort: !shape.nginx && shape.port < 1024 }), '0644'),
  };
  if (shape.nginx) states[SYSNET_DEPLOY.nginxFile] = managed(renderNginxSnippet({ upstream: listen }), '0644');
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
  const changed = [{ file: SYSNET_DEPLOY.unitFile }, { file: WEBHOOKS_START }, ...(shape.nginx ? [{ file: SYSNET_DEPLOY.nginxFile }] : [])];
  states['qbuild-webhooks-start'] = {
    'cmd.run': [{ name: `${WEBHOOKS_START} && systemctl restart ${SYSNET_DEPLOY.unitName}` }, { onchanges: changed }],
  };
  return states;
}
