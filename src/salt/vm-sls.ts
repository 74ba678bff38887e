import { QbuildError } from '../errors.js';
import { FORMULA, IN_QUBE, type PlannedVm } from '../protocol/plan/plan.js';
import { DAEMONS_SCRIPT, daemonsScript, unitName } from './daemons.js';
import { saltUrl } from './paths.js';
import { saltYaml } from './yaml-out.js';
import { sysnetStates } from './sysnet-sls.js';

type States = Record<string, Record<string, unknown[]>>;

const MARKER_START = '### qbuild start ###';
const MARKER_END = '### qbuild end ###';

/**
 * One qube's states: the binary, one rpc stub per service, the qbuild config, its home files
 * (the build qube's ~/.ssh), and (for
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
    // A socket service's entry points at the socket its daemon binds (qrexec-agent follows the symlink).
    if (vm.socketServices?.includes(service)) {
      states[`${IN_QUBE.rpcDir}/${service}`] = {
        'file.symlink': [{ target: `${IN_QUBE.state}/rpc/${service}` }, { force: true }, { makedirs: true }],
      };
      continue;
    }
    states[`${IN_QUBE.rpcDir}/${service}`] = {
      'file.managed': [
        { source: saltUrl(`${vm.name}/${FORMULA.rpcDir}/${service}`) }, { mode: '0755' }, { makedirs: true },
      ],
    };
  }
  states[confId] = {
    'file.managed': [{ source: saltUrl(`${vm.name}/${FORMULA.vmConfig}`) }, { mode: '0644' }, { makedirs: true }],
  };
  const homeIds = addHomeFiles(states, vm);
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
  const changed = [{ file: binId }, { file: confId }, ...homeIds.map((id) => ({ file: id })), { file: DAEMONS_SCRIPT }];
  states['qbuild-daemons-restart'] = { 'cmd.run': [{ name: `${DAEMONS_SCRIPT} --restart` }, { onchanges: changed }] };
  // Started only when one of them is not running: a second apply with all up changes nothing.
  const allActive = vm.daemons.map((argv) => `systemctl is-active --quiet ${unitName(argv)}`).join(' && ');
  states['qbuild-daemons-start'] = {
    'cmd.run': [{ name: DAEMONS_SCRIPT }, { unless: allActive }, { require: [...changed, { cmd: 'qbuild-daemons-restart' }] }],
  };
  return states;
}

/** A home file's path: relative plain words (`.ssh/config`), no `..`: it becomes a path and a salt:// URL. */
function checkHomePath(path: string): string {
  if (!/^[A-Za-z0-9_.][A-Za-z0-9_./-]*$/.test(path) || path.split('/').some((c) => c === '' || c === '.' || c === '..')) {
    throw new QbuildError('internal', `home file path not plain: ${path}`);
  }
  return path;
}

/**
 * The qube's home files (e.g. ~/.ssh/config): owned by `user`, their directories 0700 (ssh
 * refuses a config others may write). Returns the state IDs, so daemons restart when they change.
 */
function addHomeFiles(states: States, vm: PlannedVm): string[] {
  const ids: string[] = [];
  for (const f of vm.homeFiles ?? []) {
    const rel = checkHomePath(f.path);
    const dir = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : null;
    if (dir !== null) {
      states[`${IN_QUBE.home}/${dir}`] ??= {
        'file.directory': [{ user: 'user' }, { group: 'user' }, { mode: '0700' }, { makedirs: true }],
      };
    }
    const id = `${IN_QUBE.home}/${rel}`;
    states[id] = {
      'file.managed': [
        { source: saltUrl(`${vm.name}/${FORMULA.homeDir}/${rel}`) }, { user: 'user' }, { group: 'user' }, { mode: f.mode },
        ...(dir !== null ? [{ require: [{ file: `${IN_QUBE.home}/${dir}` }] }] : []),
      ],
    };
    ids.push(id);
  }
  return ids;
}

export function renderVmSls(vm: PlannedVm): string {
  return saltYaml(vmStates(vm), `qbuild: qube ${vm.name} (role ${vm.role})`);
}
