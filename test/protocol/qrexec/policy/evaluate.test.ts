import { describe, expect, it } from 'vitest';
import { parsePolicyText, policyFromFiles, type Policy } from '../../../../src/protocol/qrexec/policy/parser.js';
import { answerAsk, evaluate, type Decision, type SystemInfo } from '../../../../src/protocol/qrexec/policy/evaluate.js';

/** The upstream-shaped policy of design §5, one block per build env, logs VM `logs`. */
function envBlock(env: string): string {
  return `
# ---- ${env}
qubesbuilder.BuildLog             *              build-${env}  dom0          allow target=logs
qubesbuilder.LogReceived          +build-${env}  logs          dom0          allow target=keys-${env}
qubes.Gpg                         *              build-${env}  keys-${env}   allow
qubes.Gpg                         *              build-${env}  @default      allow target=keys-${env}
qubes.Gpg                         *              @anyvm        keys-${env}   deny
qubesbuilder.TriggerBuild         *              sys-net       build-${env}  allow
qubesbuilder.ProcessGithubCommand *              sys-net       build-${env}  allow
local.ConnectSSH                  +github.com    build-${env}  sys-net       allow
`;
}
const BUILDER_POLICY = policyFromFiles([
  { name: '30-qubesbuilder.policy', text: envBlock('fedora') + envBlock('debian') },
  { name: '90-default.policy', text: '# everything else\n* * @anyvm @anyvm deny\n' },
]);

const vm = (type = 'AppVM', tags: string[] = []) => ({ type, tags });
const SYSTEM: SystemInfo = {
  vms: {
    dom0: vm('AdminVM'),
    logs: vm(),
    'sys-net': vm('AppVM', ['net']),
    'build-fedora': vm('AppVM', ['builder']),
    'build-debian': vm('AppVM', ['builder']),
    'keys-fedora': vm('AppVM', ['keys']),
    'keys-debian': vm('AppVM', ['keys']),
    'fedora-41': vm('TemplateVM'),
    vm1: vm(),
    vm2: vm(),
  },
};

function call(policy: Policy, service: string, argument: string | undefined, source: string, target: string, system = SYSTEM): Decision {
  return evaluate(policy, { service, argument, source, target }, system);
}
function policy(text: string): Policy {
  return { rules: parsePolicyText(text, 'test.policy') };
}
const allowedTo = (d: Decision) => (d.action === 'allow' ? d.target : `(${d.action}: ${d.action === 'deny' ? d.reason : ''})`);

describe('qbuild policy (design §5)', () => {
  for (const env of ['fedora', 'debian']) {
    it(`${env}: BuildLog to dom0 is allowed and redirected to logs; to logs directly it is denied`, () => {
      const d = call(BUILDER_POLICY, 'qubesbuilder.BuildLog', undefined, `build-${env}`, 'dom0');
      expect(d).toMatchObject({ action: 'allow', target: 'logs', autostart: true, notify: false });
      expect(d.action === 'allow' && d.rule.file).toBe('30-qubesbuilder.policy');
      expect(allowedTo(call(BUILDER_POLICY, 'qubesbuilder.BuildLog', 'sub', `build-${env}`, '@adminvm'))).toBe('logs');
      const direct = call(BUILDER_POLICY, 'qubesbuilder.BuildLog', undefined, `build-${env}`, 'logs');
      expect(direct).toMatchObject({ action: 'deny', reason: 'denied by policy 90-default.policy:2' });
    });

    it(`${env}: LogReceived from logs reaches keys-${env} via dom0, never via @default`, () => {
      expect(allowedTo(call(BUILDER_POLICY, 'qubesbuilder.LogReceived', `build-${env}`, 'logs', 'dom0'))).toBe(`keys-${env}`);
      expect(call(BUILDER_POLICY, 'qubesbuilder.LogReceived', `build-${env}`, 'logs', '@default').action).toBe('deny');
      expect(call(BUILDER_POLICY, 'qubesbuilder.LogReceived', `build-${env}`, 'logs', '').action).toBe('deny');
      // wrong argument, wrong source, direct target
      expect(call(BUILDER_POLICY, 'qubesbuilder.LogReceived', 'build-other', 'logs', 'dom0').action).toBe('deny');
      expect(call(BUILDER_POLICY, 'qubesbuilder.LogReceived', undefined, 'logs', 'dom0').action).toBe('deny');
      expect(call(BUILDER_POLICY, 'qubesbuilder.LogReceived', `build-${env}`, `build-${env}`, 'dom0').action).toBe('deny');
      expect(call(BUILDER_POLICY, 'qubesbuilder.LogReceived', `build-${env}`, 'logs', `keys-${env}`).action).toBe('deny');
    });

    it(`${env}: qubes.Gpg reaches only its own keys VM, directly or via @default`, () => {
      expect(allowedTo(call(BUILDER_POLICY, 'qubes.Gpg', undefined, `build-${env}`, `keys-${env}`))).toBe(`keys-${env}`);
      expect(allowedTo(call(BUILDER_POLICY, 'qubes.Gpg', undefined, `build-${env}`, '@default'))).toBe(`keys-${env}`);
      const other = env === 'fedora' ? 'debian' : 'fedora';
      expect(call(BUILDER_POLICY, 'qubes.Gpg', undefined, `build-${env}`, `keys-${other}`)).toMatchObject({
        action: 'deny', reason: expect.stringMatching(/^denied by policy 30-qubesbuilder\.policy:\d+$/),
      });
      expect(call(BUILDER_POLICY, 'qubes.Gpg', undefined, 'sys-net', `keys-${env}`).action).toBe('deny');
      expect(call(BUILDER_POLICY, 'qubes.Gpg', undefined, 'logs', '@default').action).toBe('deny');
    });

    it(`${env}: keys-${env} can call nothing in build-${env}`, () => {
      for (const svc of ['qubesbuilder.BuildLog', 'qubesbuilder.TriggerBuild', 'qubes.Gpg', 'qubes.VMShell', 'qubesbuilder.ProcessGithubCommand']) {
        for (const arg of [undefined, 'x', `build-${env}`]) {
          expect(call(BUILDER_POLICY, svc, arg, `keys-${env}`, `build-${env}`).action).toBe('deny');
        }
      }
      expect(call(BUILDER_POLICY, 'qubesbuilder.BuildLog', undefined, `keys-${env}`, 'dom0').action).toBe('deny');
    });

    it(`${env}: sys-net may trigger builds and send commands to build-${env}`, () => {
      expect(allowedTo(call(BUILDER_POLICY, 'qubesbuilder.TriggerBuild', 'core-qrexec', 'sys-net', `build-${env}`))).toBe(`build-${env}`);
      expect(allowedTo(call(BUILDER_POLICY, 'qubesbuilder.ProcessGithubCommand', undefined, 'sys-net', `build-${env}`))).toBe(`build-${env}`);
      expect(call(BUILDER_POLICY, 'qubesbuilder.TriggerBuild', 'core-qrexec', 'logs', `build-${env}`).action).toBe('deny');
      expect(call(BUILDER_POLICY, 'qubesbuilder.TriggerBuild', 'core-qrexec', 'sys-net', `keys-${env}`).action).toBe('deny');
    });

    it(`${env}: ConnectSSH only for the listed host`, () => {
      expect(allowedTo(call(BUILDER_POLICY, 'local.ConnectSSH', 'github.com', `build-${env}`, 'sys-net'))).toBe('sys-net');
      expect(call(BUILDER_POLICY, 'local.ConnectSSH', 'evil.example', `build-${env}`, 'sys-net').action).toBe('deny');
      expect(call(BUILDER_POLICY, 'local.ConnectSSH', undefined, `build-${env}`, 'sys-net').action).toBe('deny');
    });
  }

  it('calls from dom0 match no @anyvm rule, so they fall through to no-match deny', () => {
    expect(call(BUILDER_POLICY, 'qubes.Gpg', undefined, 'dom0', 'keys-fedora')).toEqual({
      action: 'deny', reason: 'no matching rule found', notify: true,
    });
  });
});

describe('matching', () => {
  it('first matching line wins', () => {
    const p = policy('svc * vm1 vm2 deny\nsvc * vm1 vm2 allow\nsvc * vm1 logs allow\n');
    expect(call(p, 'svc', undefined, 'vm1', 'vm2')).toMatchObject({ action: 'deny', reason: 'denied by policy test.policy:1' });
    const q = policy('svc * vm1 vm2 allow\nsvc * vm1 vm2 deny\n');
    expect(call(q, 'svc', undefined, 'vm1', 'vm2')).toMatchObject({ action: 'allow', target: 'vm2', rule: { line: 1 } });
  });

  it('first matching file (by name) wins', () => {
    const p = policyFromFiles([
      { name: '50-allow.policy', text: 'svc * vm1 vm2 allow' },
      { name: '40-deny.policy', text: '# nope\nsvc * vm1 vm2 deny' },
    ]);
    expect(call(p, 'svc', undefined, 'vm1', 'vm2')).toMatchObject({ action: 'deny', reason: 'denied by policy 40-deny.policy:2' });
  });

  it('no matching rule denies (and an empty policy denies everything)', () => {
    expect(call(policy('other * vm1 vm2 allow'), 'svc', undefined, 'vm1', 'vm2')).toMatchObject({ action: 'deny', reason: 'no matching rule found' });
    expect(call({ rules: [] }, 'svc', undefined, 'vm1', 'vm2').action).toBe('deny');
  });

  it('service `*` matches any service', () => {
    expect(call(policy('* * vm1 vm2 allow'), 'any.Thing', 'x', 'vm1', 'vm2').action).toBe('allow');
  });

  it('@anyvm never matches dom0, as source or target; `*` does', () => {
    const anyvm = policy('svc * @anyvm @anyvm allow');
    expect(call(anyvm, 'svc', undefined, 'vm1', 'vm2').action).toBe('allow');
    expect(call(anyvm, 'svc', undefined, 'dom0', 'vm2').action).toBe('deny');
    expect(call(anyvm, 'svc', undefined, 'vm1', 'dom0').action).toBe('deny');
    expect(call(anyvm, 'svc', undefined, 'vm1', '@adminvm').action).toBe('deny');
    const star = policy('svc * * * allow');
    expect(allowedTo(call(star, 'svc', undefined, 'dom0', 'vm2'))).toBe('vm2');
    expect(allowedTo(call(star, 'svc', undefined, 'vm1', '@adminvm'))).toBe('dom0');
  });

  it('dom0 and @adminvm are the same, in rules and in calls', () => {
    for (const token of ['dom0', '@adminvm']) {
      const p = policy(`svc * vm1 ${token} allow\nsvc * ${token} vm1 allow`);
      expect(allowedTo(call(p, 'svc', undefined, 'vm1', 'dom0'))).toBe('dom0');
      expect(allowedTo(call(p, 'svc', undefined, 'vm1', '@adminvm'))).toBe('dom0');
      expect(allowedTo(call(p, 'svc', undefined, 'dom0', 'vm1'))).toBe('vm1');
      expect(call(p, 'svc', undefined, 'vm1', 'vm2').action).toBe('deny');
    }
  });

  it('@tag: and @type: match by system info, for source and target', () => {
    const p = policy('svc * @tag:builder @type:TemplateVM allow\nsvc * @type:AdminVM @tag:keys allow');
    expect(allowedTo(call(p, 'svc', undefined, 'build-fedora', 'fedora-41'))).toBe('fedora-41');
    expect(call(p, 'svc', undefined, 'sys-net', 'fedora-41').action).toBe('deny');
    expect(call(p, 'svc', undefined, 'build-fedora', 'logs').action).toBe('deny');
    expect(allowedTo(call(p, 'svc', undefined, 'dom0', 'keys-debian'))).toBe('keys-debian');
    expect(call(p, 'svc', undefined, 'logs', 'keys-debian').action).toBe('deny');
    // @type:AdminVM matches dom0 however the caller names it
    const q = policy('svc * @anyvm @type:AdminVM allow');
    expect(allowedTo(call(q, 'svc', undefined, 'logs', '@adminvm'))).toBe('dom0');
    // a keyword target has no tags
    expect(call(policy('svc * @anyvm @tag:keys allow'), 'svc', undefined, 'logs', '@default').action).toBe('deny');
  });

  it('argument `*` matches anything, `+` only no/empty argument, `+ARG` exactly ARG', () => {
    const p = policy('svc +exact vm1 vm2 allow target=a1\nsvc + vm1 vm2 allow target=a2\nsvc * vm1 vm2 allow target=a3');
    const sys: SystemInfo = { vms: { ...SYSTEM.vms, vm1: vm(), vm2: vm(), a1: vm(), a2: vm(), a3: vm() } };
    expect(allowedTo(call(p, 'svc', 'exact', 'vm1', 'vm2', sys))).toBe('a1');
    expect(allowedTo(call(p, 'svc', undefined, 'vm1', 'vm2', sys))).toBe('a2');
    expect(allowedTo(call(p, 'svc', '', 'vm1', 'vm2', sys))).toBe('a2');
    expect(allowedTo(call(p, 'svc', 'exactly', 'vm1', 'vm2', sys))).toBe('a3');
    expect(allowedTo(call(p, 'svc', 'EXACT', 'vm1', 'vm2', sys))).toBe('a3');
    expect(call(policy('svc +x vm1 vm2 allow'), 'svc', undefined, 'vm1', 'vm2', sys).action).toBe('deny');
  });
});

describe('targets', () => {
  const sys: SystemInfo = {
    vms: {
      vm1: { type: 'AppVM', tags: [], defaultDispvm: 'dvm-tpl' },
      vm2: { type: 'AppVM', tags: [], running: true },
      vm3: { type: 'AppVM', tags: [] },
      'dvm-tpl': { type: 'AppVM', tags: ['disp'], templateForDispvms: true },
      'other-tpl': { type: 'AppVM', tags: [], templateForDispvms: true },
      constructor: { type: 'AppVM', tags: [] },
    },
  };
  const c = (p: Policy, source: string, target: string) => call(p, 'svc', undefined, source, target, sys);

  it('@default in a rule matches only a call to @default (or an empty target)', () => {
    const p = policy('svc * vm1 @default allow target=vm2');
    expect(allowedTo(c(p, 'vm1', '@default'))).toBe('vm2');
    expect(allowedTo(c(p, 'vm1', ''))).toBe('vm2');
    expect(c(p, 'vm1', 'vm3')).toMatchObject({ action: 'deny', reason: 'no matching rule found' });
    expect(c(p, 'vm1', 'dom0').action).toBe('deny');
  });

  it('`*` and @anyvm also match @default, but an allow without target= has nowhere to go', () => {
    for (const token of ['*', '@anyvm']) {
      const d = c(policy(`svc * vm1 ${token} allow`), 'vm1', '@default');
      expect(d).toMatchObject({
        action: 'deny', reason: "policy define 'allow' action at test.policy:1 but no target is specified by caller or policy",
      });
      expect(allowedTo(c(policy(`svc * vm1 ${token} allow target=vm2`), 'vm1', '@default'))).toBe('vm2');
    }
  });

  it('a call to a qube that does not exist is denied before any rule', () => {
    const p = policy('svc * * * allow target=vm2');
    expect(c(p, 'vm1', 'nosuchvm')).toEqual({ action: 'deny', reason: 'target "nosuchvm" does not exist', notify: true });
    expect(c(p, 'vm1', 'toString')).toMatchObject({ action: 'deny' });
    expect(c(p, 'vm1', '@anyvm')).toMatchObject({ action: 'deny', reason: 'invalid target "@anyvm"' });
    expect(c(p, 'nosuchvm', 'vm2')).toMatchObject({ action: 'deny', reason: 'source "nosuchvm" does not exist' });
    // own properties only: a real qube called `constructor` works
    expect(allowedTo(c(policy('svc * vm1 constructor allow'), 'vm1', 'constructor'))).toBe('constructor');
  });

  it('a redirect to a qube that does not exist is denied', () => {
    expect(c(policy('svc * vm1 vm2 allow target=ghost'), 'vm1', 'vm2')).toMatchObject({
      action: 'deny', reason: 'redirect target "ghost" at test.policy:1 does not exist',
    });
  });

  it('a qube cannot call itself', () => {
    expect(c(policy('svc * vm1 vm2 allow target=vm1'), 'vm1', 'vm2')).toMatchObject({
      action: 'deny', reason: 'loopback qrexec connection not supported',
    });
  });

  it('@dispvm resolves to the caller\'s default disposable template', () => {
    const p = policy('svc * vm1 @dispvm allow\nsvc * vm2 @dispvm allow');
    expect(allowedTo(c(p, 'vm1', '@dispvm'))).toBe('@dispvm:dvm-tpl');
    expect(c(p, 'vm2', '@dispvm')).toMatchObject({ action: 'deny', reason: expect.stringContaining('no DispVM base') });
    expect(allowedTo(c(policy('svc * vm1 @dispvm:dvm-tpl allow'), 'vm1', '@dispvm'))).toBe('@dispvm:dvm-tpl');
    expect(allowedTo(c(policy('svc * vm1 @dispvm:dvm-tpl allow'), 'vm1', '@dispvm:dvm-tpl'))).toBe('@dispvm:dvm-tpl');
    expect(c(policy('svc * vm1 @dispvm:dvm-tpl allow'), 'vm1', '@dispvm:other-tpl').action).toBe('deny');
    expect(allowedTo(c(policy('svc * vm1 @dispvm:@tag:disp allow'), 'vm1', '@dispvm'))).toBe('@dispvm:dvm-tpl');
    expect(c(policy('svc * vm1 @dispvm:@tag:disp allow'), 'vm1', '@dispvm:other-tpl').action).toBe('deny');
    expect(c(policy('svc * * * allow'), 'vm1', '@dispvm:vm3')).toMatchObject({ action: 'deny', reason: 'not a template for dispvm: vm3' });
  });

  it('autostart=no reaches only running qubes and dom0', () => {
    const p = policy('svc * vm1 @anyvm allow autostart=no\nsvc * vm1 dom0 allow autostart=no');
    expect(c(p, 'vm1', 'vm2')).toMatchObject({ action: 'allow', target: 'vm2', autostart: false });
    expect(c(p, 'vm1', 'vm3')).toMatchObject({ action: 'deny', reason: 'target vm3 is denied because it would require autostart' });
    expect(allowedTo(c(p, 'vm1', 'dom0'))).toBe('dom0');
  });

  it('reports user= and notify=', () => {
    expect(c(policy('svc * vm1 vm2 allow user=root notify=yes'), 'vm1', 'vm2')).toMatchObject({
      action: 'allow', target: 'vm2', user: 'root', notify: true,
    });
    expect(c(policy('svc * vm1 vm2 deny notify=no'), 'vm1', 'vm2')).toMatchObject({ action: 'deny', notify: false });
  });
});

describe('ask', () => {
  const sys: SystemInfo = {
    vms: {
      vm1: { tags: [], defaultDispvm: 'dvm-tpl' },
      vm2: { tags: ['t'] },
      vm3: { tags: ['t'] },
      vm4: { tags: [] },
      'dvm-tpl': { tags: [], templateForDispvms: true },
    },
  };
  const c = (p: Policy, target: string) => call(p, 'svc', undefined, 'vm1', target, sys);

  it('offers the targets other matching rules allow, minus those denied above them', () => {
    const p = policy('svc * vm1 vm4 deny\nsvc * vm1 @default ask default_target=vm2\nsvc * vm1 @tag:t allow\nsvc * vm1 @anyvm allow\n');
    const d = c(p, '@default');
    expect(d).toMatchObject({ action: 'ask', targets: ['@dispvm:dvm-tpl', 'dvm-tpl', 'vm2', 'vm3'], defaultTarget: 'vm2' });
    if (d.action !== 'ask') throw new Error('not ask');
    expect(answerAsk(d, 'vm3')).toMatchObject({ action: 'allow', target: 'vm3' });
    expect(answerAsk(d, 'vm4')).toMatchObject({ action: 'deny', reason: 'target vm4 is not a valid choice' });
    expect(answerAsk(d, null)).toMatchObject({ action: 'deny', reason: 'denied by the user test.policy:2' });
  });

  it('ask target= offers exactly that target; default_target outside the choices is dropped', () => {
    const d = c(policy('svc * vm1 @default ask target=dom0 default_target=vm2'), '@default');
    expect(d).toEqual(expect.objectContaining({ action: 'ask', targets: ['dom0'] }));
    expect(d).not.toHaveProperty('defaultTarget');
  });

  it('ask with nothing to choose from denies', () => {
    expect(c(policy('svc * vm1 @default ask'), '@default')).toMatchObject({
      action: 'deny', reason: "policy define 'ask' action at test.policy:1 but no target is available to choose from",
    });
  });
});
