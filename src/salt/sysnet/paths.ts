import { IN_QUBE } from '../../protocol/plan/plan.js';

/**
 * Where the listener's start-up files live in sys-net. An AppVM's root file system is reset
 * at every boot, so (as upstream does) the files live under /rw/config and rc.local links them
 * into place at boot.
 */
export const SYSNET_DEPLOY = {
  unitName: 'qbuild-webhooks.service',
  unitFile: '/rw/config/qbuild/qbuild-webhooks.service',
  nginxFile: '/rw/config/qbuild/webhooks.nginx',
  /** Fedora's nginx includes default.d/*.conf inside its default server block. */
  nginxLink: '/etc/nginx/default.d/qbuild-webhooks.conf',
  rcLocal: '/rw/config/rc.local',
  binary: IN_QUBE.binary,
  state: IN_QUBE.state,
} as const;

/**
 * GitHub's webhook source ranges (the `hooks` list of https://api.github.com/meta), as
 * upstream's webhooks.rc-local opens them; check that list when deploying.
 */
export const GITHUB_HOOK_RANGES = ['192.30.252.0/22', '185.199.108.0/22', '140.82.112.0/20', '143.55.64.0/20'] as const;
