import { FORMULA, IN_QUBE, type PlannedVm } from '../roles/dom0/plan.js';
import { DAEMONS_SCRIPT, daemonsScript } from './daemons.js';
import { saltUrl } from './paths.js';
import { saltYaml } from './yaml-out.js';
import { sysnetStates } from './sysnet-sls.js';

type States = Record<string, Record<string, unknown[]>>;

const MARKER_START = '### qbuild start ###';
const MARKER_END = '### qbuild end ###';

/**
 * One qube's states: the binary, one rpc stub per service, the qbuild config, and (for
 * qubes with daemons) a start-up script run from /rw/config/rc.local, as upstream's
 * webhooks-base.sls does. State IDs are the target paths, as upstream writes them.
 */
export function vmStates(vm: PlannedVm): States {
  const binId = IN_QUBE.binary;
  const confId = IN_QUBE.config;
  const states: States = {
    [binId]: { 'file.managed': [{ source: saltUrl('qbuild') }, { mode: '0755' }, { makedirs: true }] },
  };
  for (const service of vm.services) {
    states[`${IN_QUBE.rpcDir}/${service}`] = {
      'file.managed': [
        { source: saltUrl(`${vm.name}/${FORMULA.rpcDir}/${service}`) }, { mode: '0755' }, { makedirs: true },
      ],
    };
  }
  states[confId] = {
    'file.managed': [{ source: saltUrl(`${vm.name}/${FORMULA.vmConfig}`) }, { mode: '0644' }, { makedirs: true }],
  };
  // sys-net's listener has its own hardened unit, nginx snippet and firewall opening.
  if (vm.role === 'sysnet') return { ...states, ...sysnetStates(vm) };
  if (vm.daemons.length === 0) return states;

  states[DAEMONS_SCRIPT] = {
    'file.managed': [{ contents: daemonsScript(vm) }, { mode: '0755' }, { makedirs: true }],
  };
  states['qbuild-rc.local'] = {
    'file.blockreplace': [
      { name: '/rw/config/rc.local' }, { marker_start: MARKER_START }, { marker_end: MARKER_END },
      { content: DAEMONS_SCRIPT }, { append_if_not_found: true },
    ],
  };
  states['qbuild-rc.local-executable'] = {
    'file.managed': [{ name: '/rw/config/rc.local' }, { replace: false }, { mode: '0755' }],
  };
  const changed = [{ file: binId }, { file: confId }, { file: DAEMONS_SCRIPT }];
  states['qbuild-daemons-restart'] = { 'cmd.run': [{ name: `${DAEMONS_SCRIPT} --restart` }, { onchanges: changed }] };
  states['qbuild-daemons-start'] = {
    'cmd.run': [{ name: DAEMONS_SCRIPT }, { require: [...changed, { cmd: 'qbuild-daemons-restart' }] }],
  };
  return states;
}

export function renderVmSls(vm: PlannedVm): string {
  return saltYaml(vmStates(vm), `qbuild: qube ${vm.name} (role ${vm.role})`);
}
