import { describe, expect, it } from 'vitest';
import { parsePolicyText, policyFromFiles } from '../../../../src/protocol/qrexec/policy/parser.js';
import { QbuildError } from '../../../../src/errors.js';

function syntaxErrorOf(text: string, file = '30-test.policy'): QbuildError {
  try {
    parsePolicyText(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(QbuildError);
    return err as QbuildError;
  }
  throw new Error(`no error for ${JSON.stringify(text)}`);
}

describe('parsePolicyText', () => {
  it('parses a full rule with tokens, argument and params, keeping file and line', () => {
    const rules = parsePolicyText(
      '# comment\n\n   \nqubesbuilder.BuildLog * build-fedora dom0 allow target=logs\n' +
      'qubesbuilder.LogReceived +build-fedora logs @adminvm allow target=keys-fedora user=user notify=yes autostart=no\n',
      '30-qubesbuilder.policy',
    );
    expect(rules).toHaveLength(2);
    expect(rules[0]).toEqual({
      service: { kind: 'name', name: 'qubesbuilder.BuildLog' },
      argument: { kind: 'any' },
      source: { kind: 'vm', name: 'build-fedora' },
      target: { kind: 'adminvm' },
      action: { kind: 'allow', target: { kind: 'vm', name: 'logs' }, user: undefined, notify: false, autostart: true },
      file: '30-qubesbuilder.policy',
      line: 4,
    });
    expect(rules[1]!.argument).toEqual({ kind: 'exact', value: 'build-fedora' });
    expect(rules[1]!.target).toEqual({ kind: 'adminvm' });
    expect(rules[1]!.action).toEqual({
      kind: 'allow', target: { kind: 'vm', name: 'keys-fedora' }, user: 'user', notify: true, autostart: false,
    });
    expect(rules[1]!.line).toBe(5);
  });

  it('parses every token kind in the places that admit it', () => {
    const text = [
      'a.B * * * deny',
      'a.B + @anyvm @anyvm deny',
      'a.B +x @tag:t1 @type:AppVM deny notify=no',
      'a.B * @type:DispVM @tag:t2 deny',
      'a.B * @dispvm:tpl @dispvm deny',
      'a.B * @dispvm:@tag:t3 @dispvm:tpl ask',
      'a.B * dom0 @dispvm:@tag:t4 ask target=@dispvm default_target=@dispvm:tpl',
      'a.B * vm1 @default allow target=@adminvm',
      'a.B * vm1 @default ask',
    ].join('\n');
    const rules = parsePolicyText(text, 'f.policy');
    expect(rules.map((r) => [r.source, r.target])).toEqual([
      [{ kind: 'any' }, { kind: 'any' }],
      [{ kind: 'anyvm' }, { kind: 'anyvm' }],
      [{ kind: 'tag', tag: 't1' }, { kind: 'type', type: 'AppVM' }],
      [{ kind: 'type', type: 'DispVM' }, { kind: 'tag', tag: 't2' }],
      [{ kind: 'dispvm-of', template: 'tpl' }, { kind: 'dispvm' }],
      [{ kind: 'dispvm-tag', tag: 't3' }, { kind: 'dispvm-of', template: 'tpl' }],
      [{ kind: 'adminvm' }, { kind: 'dispvm-tag', tag: 't4' }],
      [{ kind: 'vm', name: 'vm1' }, { kind: 'default' }],
      [{ kind: 'vm', name: 'vm1' }, { kind: 'default' }],
    ]);
    expect(rules[1]!.argument).toEqual({ kind: 'exact', value: '' });
    expect(rules[2]!.action).toEqual({ kind: 'deny', notify: false });
    expect(rules[3]!.action).toEqual({ kind: 'deny', notify: true });
    expect(rules[6]!.action).toEqual({
      kind: 'ask', target: { kind: 'dispvm' }, defaultTarget: { kind: 'dispvm-of', template: 'tpl' },
      user: undefined, notify: false, autostart: true,
    });
    expect(rules[7]!.action).toMatchObject({ kind: 'allow', target: { kind: 'adminvm' } });
  });

  it('accepts tabs, CRLF line ends and leading whitespace; `#` only starts a comment at line start', () => {
    const rules = parsePolicyText('\t# x\r\n  svc\t*\t@anyvm\tvm1\tallow\r\n', 'f.policy');
    expect(rules).toHaveLength(1);
    expect(rules[0]!.line).toBe(2);
    expect(syntaxErrorOf('svc * @anyvm vm1 allow # trailing comment').message)
      .toBe('30-test.policy:1: invalid action parameter syntax: "#"');
  });

  // Each bad line is placed on line 3 (after a comment and a blank line) so the line number is checked.
  const bad: [string, string][] = [
    ['svc * vm1 vm2', 'wrong number of fields'],
    ['svc', 'wrong number of fields'],
    ['svc * vm1 vm2 permit', 'invalid action: "permit"'],
    ['svc * vm1 vm2 allow target=vm3 target=vm4', 'parameter given twice: "target"'],
    ['svc * vm1 vm2 allow colour=red', 'invalid parameter "colour" for action allow'],
    ['svc * vm1 vm2 deny target=vm3', 'invalid parameter "target" for action deny'],
    ['svc * vm1 vm2 deny user=root', 'invalid parameter "user" for action deny'],
    ['svc * vm1 vm2 allow default_target=vm3', 'invalid parameter "default_target" for action allow'],
    ['svc * vm1 vm2 allow notify=true', '"notify" is "true", but can be only \'yes\' or \'no\''],
    ['svc * vm1 vm2 ask autostart=1', '"autostart" is "1", but can be only \'yes\' or \'no\''],
    ['svc * vm1 vm2 allow target', 'invalid action parameter syntax: "target"'],
    ['svc * vm1 vm2 allow =vm3', 'invalid action parameter syntax: "=vm3"'],
    ['svc * vm1 vm2 allow target=', 'invalid empty redirect token'],
    ['svc * vm1 vm2 allow user=', 'invalid user "": allowed characters are A-Z a-z 0-9 _ . -'],
    ['svc * @everyone vm2 allow', 'invalid source token "@everyone": unknown keyword'],
    ['svc * vm1 @somewhere allow', 'invalid target token "@somewhere": unknown keyword'],
    ['svc * @default vm2 allow', 'invalid source token "@default": not allowed here'],
    ['svc * @dispvm vm2 allow', 'invalid source token "@dispvm": not allowed here'],
    ['svc * vm1 vm2 allow target=@anyvm', 'invalid redirect token "@anyvm": not allowed here'],
    ['svc * vm1 vm2 allow target=@tag:x', 'invalid redirect token "@tag:x": not allowed here'],
    ['svc * vm1 vm2 ask default_target=*', 'invalid redirect token "*": not allowed here'],
    ['svc * vm1 vm2 allow target=@default', 'invalid redirect token "@default": not allowed here'],
    ['svc * @tag: vm2 allow', 'invalid empty value in "@tag:"'],
    ['svc * vm1 @type: allow', 'invalid empty value in "@type:"'],
    ['svc * vm1 @dispvm: allow', 'invalid empty value in "@dispvm:"'],
    ['svc * vm1 @dispvm:@tag: allow', 'invalid empty value in "@dispvm:@tag:"'],
    ['svc * vm1 @tag:@anyvm allow', 'invalid value in "@tag:@anyvm": allowed characters are A-Z a-z 0-9 _ . -'],
    ['svc * vm1 @dispvm:@anyvm allow', 'invalid target token "@dispvm:@anyvm": not a qube name after @dispvm:'],
    ['svc * 1vm vm2 allow', 'invalid source token "1vm": not a qube name'],
    ['svc * vm1 uuid:00000000-0000-0000-0000-000000000000 allow', 'invalid target token "uuid:00000000-0000-0000-0000-000000000000": not a qube name'],
    ['svc * vm1 a-name-that-is-much-longer-than-31-chars allow', 'invalid target token "a-name-that-is-much-longer-than-31-chars": not a qube name'],
    ['* +arg vm1 vm2 allow', 'only * argument allowed for * service'],
    ['* + vm1 vm2 allow', 'only * argument allowed for * service'],
    ['svc arg vm1 vm2 allow', 'argument "arg" does not start with +'],
    ['svc +a+b vm1 vm2 allow', 'invalid argument "+a+b": allowed characters after + are A-Z a-z 0-9 _ . -'],
    ['svc +a/b vm1 vm2 allow', 'invalid argument "+a/b": allowed characters after + are A-Z a-z 0-9 _ . -'],
    ['svc+arg * vm1 vm2 allow', 'invalid service "svc+arg": allowed characters are A-Z a-z 0-9 _ . -'],
    ['sv/c * vm1 vm2 allow', 'invalid service "sv/c": allowed characters are A-Z a-z 0-9 _ . -'],
    ['svc * vm1 @default allow', 'allow action for @default rule must specify target= option'],
    ['!include /etc/qubes/policy.d/include/x', 'unsupported directive !include'],
    ['!include-dir include/', 'unsupported directive !include-dir'],
    ['!include-service svc * include/x', 'unsupported directive !include-service'],
    ['!compat-4.0', 'unsupported directive !compat-4.0'],
    ['!frobnicate', 'invalid directive "!frobnicate"'],
  ];
  it.each(bad)('refuses %j', (line, what) => {
    const err = syntaxErrorOf(`# header\n\n${line}\nsvc * vm1 vm2 allow\n`);
    expect(err.code).toBe('policy-syntax');
    expect(err.message).toBe(`30-test.policy:3: ${what}`);
  });

  it('has at least 15 distinct bad-line cases', () => {
    expect(new Set(bad.map(([, what]) => what)).size).toBeGreaterThanOrEqual(15);
  });
});

describe('policyFromFiles', () => {
  it('orders files by name (code point order), not by input order', () => {
    const p = policyFromFiles([
      { name: '50-b.policy', text: 'b * vm1 vm2 deny' },
      { name: '10-a.policy', text: 'a * vm1 vm2 deny' },
      { name: '30-Z.policy', text: 'z * vm1 vm2 deny' },
    ]);
    expect(p.rules.map((r) => r.file)).toEqual(['10-a.policy', '30-Z.policy', '50-b.policy']);
  });

  it('names the offending file in errors', () => {
    expect(() => policyFromFiles([
      { name: '10-a.policy', text: 'a * vm1 vm2 deny' },
      { name: '20-b.policy', text: '\n\nb * vm1 vm2 maybe' },
    ])).toThrow('20-b.policy:3: invalid action: "maybe"');
  });
});
