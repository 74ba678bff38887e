import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateNoteKey, parseNote, parseSignerKey } from '../../../src/protocol/note/note.js';
import { signTicketV2, type TicketV2 } from '../../../src/protocol/ticket/ticket-v2.js';
import { cosignCheckpoint, generateWitnessKey, parseWitnessSignerKey } from '../../../src/protocol/tlog/cosignature.js';
import { signCheckpoint } from '../../../src/protocol/tlog/checkpoint.js';
import { Ledger } from '../../../src/roles/logs/ledger/ledger.js';
import { ledgerTicket } from '../../../src/roles/logs/ledger/ticket-v2.js';
import { KeysQube } from './keys-qube.js';

const ORIGIN = 'qbuild.logs/logs';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const cleanups: (() => void)[] = [];
afterAll(() => { for (const c of cleanups) c(); });

/**
 * The logs VM's side, as the daemon runs it: a real Ledger (state in a temp dir) signed with
 * the keys qube's provisioned ticket key; `ticket()` appends a log's entry and makes its v2
 * ticket proving from `from`.
 */
class TestLogs {
  private readonly state = mkdtempSync(join(tmpdir(), 'qb-ledger-'));
  readonly signer;
  readonly ledger;
  private n = 0;
  constructor(readonly q: KeysQube) {
    this.signer = parseSignerKey(q.note.signerKey);
    this.ledger = Ledger.open(this.state, ORIGIN, this.signer);
    cleanups.push(() => rmSync(this.state, { recursive: true, force: true }));
  }

  ticket(data: Buffer[], from: number, o: { cosign?: (body: string) => string } = {}): TicketV2 {
    const i = this.n++;
    const path = `build-fedora/log_2026-11-26_00-00-${String(i).padStart(2, '0')}`;
    const now = Date.now();
    const entry = {
      vm: 'build-fedora', path, logSha256: sha(path), digests: data.map((d, k) => ({ form: 'binary' as const, sha256: sha(d), label: `file-${k}` })),
      start: new Date(now - 5000).toISOString(), end: new Date(now - 4000).toISOString(),
    };
    const { index } = this.ledger.append(entry);
    let note = this.ledger.checkpoint().note;
    if (o.cosign) note += o.cosign(parseNote(note).text);
    return ledgerTicket(this.ledger, {
      leafIndex: index, entry, checkpoint: note,
      inclusion: this.ledger.merkle.inclusionProof(index, this.ledger.size).map((h) => h.toString('hex')),
      issued: new Date(now - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'), expires: new Date(now + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    }, from, undefined);
  }

  note(t: TicketV2): string { return signTicketV2(t, this.signer); }
}

function qube(extra: Record<string, unknown> = {}): KeysQube {
  const q = new KeysQube('ticket', null, { acceptV1Tickets: false, ...extra });
  cleanups.push(() => q.cleanup());
  return q;
}
const held = (q: KeysQube) => { try { return readFileSync(join(q.state, 'ledger', 'checkpoint'), 'utf8'); } catch { return undefined; } };
const lastLog = (q: KeysQube) => q.log().trim().split('\n').at(-1) ?? '';

describe('keys VM: v2 tickets (qbuild rpc qubesbuilder.LogReceived, the built binary)', () => {
  it('accepts a proved ticket, holds its checkpoint durably, says the size it holds, and signs the bytes it grants', async () => {
    const q = qube();
    const logs = new TestLogs(q);
    expect((await q.importKey('gpg-ed25519.sec.asc')).code).toBe(0);
    const bytes = Buffer.from('repomd.xml bytes');
    const t1 = logs.ticket([bytes], 0);
    const r = await q.logReceived(logs.note(t1));
    expect(r.code, r.stderr.toString()).toBe(0);
    expect(r.stdout.toString()).toBe('checkpoint-size 1\n');
    expect(lastLog(q)).toMatch(/accepted vm=build-fedora .* v2 leaf=0 checkpoint=1$/);
    expect(held(q)).toBe(t1.checkpoint);
    const signed = await q.gpg(['-bsau', 'ed25519@test.invalid'], bytes);
    expect(signed.exit).toBe(0);
    expect(signed.streams[0]?.toString()).toMatch(/^-----BEGIN PGP SIGNATURE-----/);

    // The next log proves consistency from the held size.
    const t2 = logs.ticket([Buffer.from('b')], 1);
    expect(t2.consistency.length).toBeGreaterThan(0);
    const r2 = await q.logReceived(logs.note(t2));
    expect(r2.code, r2.stderr.toString()).toBe(0);
    expect(r2.stdout.toString()).toBe('checkpoint-size 2\n');
    expect(held(q)).toBe(t2.checkpoint);
  });

  it('refuses a proof from another size than it holds, telling the size; the same ticket from that size is accepted', async () => {
    const q = qube();
    const logs = new TestLogs(q);
    expect((await q.logReceived(logs.note(logs.ticket([Buffer.from('a')], 0)))).code).toBe(0);
    logs.ticket([Buffer.from('b')], 0);
    const t3 = logs.ticket([Buffer.from('c')], 0);
    const r = await q.logReceived(logs.note(t3));
    expect(r.code).toBe(1);
    expect(r.stdout.toString()).toBe('checkpoint-size 1\n');
    expect(r.stderr.toString()).toMatch(/refused: ticket for \S+: consistency proof is from size 0, this keys VM holds size 1\n$/);
    const again = ledgerTicketFrom(logs, t3, 1);
    const ok = await q.logReceived(logs.note(again));
    expect(ok.code, ok.stderr.toString()).toBe(0);
    expect(ok.stdout.toString()).toBe('checkpoint-size 3\n');
  });

  it('refuses a ticket whose inclusion proof does not match: a digest added, a proof hash changed, another leaf index', async () => {
    const q = qube();
    const logs = new TestLogs(q);
    const t = logs.ticket([Buffer.from('a')], 0);
    const extra = { ...t, digests: [...t.digests, { form: 'binary' as const, sha256: sha('smuggled'), label: 'evil.rpm' }] };
    logs.ticket([Buffer.from('b')], 0);
    const t2 = ledgerTicketFrom(logs, t, 0);
    const changed = { ...t2, inclusion: [Buffer.alloc(32, 1)] };
    const moved = { ...t2, leafIndex: 1 };
    for (const bad of [extra, changed, moved]) {
      const r = await q.logReceived(logs.note(bad));
      expect(r.code).toBe(1);
      expect(r.stderr.toString()).toMatch(/inclusion proof does not match: the entry for \S+ is not leaf \d of checkpoint \d\n$/);
    }
    expect(held(q)).toBeUndefined();
    expect(existsSync(join(q.state, 'tickets', 'build-fedora', 'grants', `${sha('smuggled')}.json`))).toBe(false);
  });

  it('refuses a checkpoint not signed by the logs key, or of another origin', async () => {
    const q = qube();
    const logs = new TestLogs(q);
    const t = logs.ticket([Buffer.from('a')], 0);
    const other = parseSignerKey(generateNoteKey('qbuild-logs/logs').signerKey);
    const c = { origin: ORIGIN, size: 1, root: Buffer.alloc(32), extensions: [] };
    const forged = { ...t, checkpoint: signCheckpoint(c, other) };
    const origin = { ...t, checkpoint: signCheckpoint({ ...c, origin: 'qbuild.logs/elsewhere' }, logs.signer) };
    const r1 = await q.logReceived(logs.note(forged));
    expect(r1.stderr.toString()).toMatch(/checkpoint: signed note: no signature by a trusted key\n$/);
    const r2 = await q.logReceived(logs.note(origin));
    expect(r2.stderr.toString()).toMatch(/checkpoint: origin "qbuild.logs\/elsewhere" is not "qbuild.logs\/logs"\n$/);
    expect([r1.code, r2.code]).toEqual([1, 1]);
  });

  it('refuses v1 tickets by default, naming the option; takes them with acceptV1Tickets', async () => {
    const strict = qube();
    const r = await strict.logReceived(strict.ticket([Buffer.from('a')]));
    expect(r.code).toBe(1);
    expect(r.stderr.toString()).toMatch(/is qbuild-ticket v1 \(no ledger proof\); this keys VM takes v1 only with keys.acceptV1Tickets\n$/);
    expect(existsSync(join(strict.state, 'tickets', 'build-fedora', 'grants'))).toBe(false);
    const lax = qube({ acceptV1Tickets: true });
    const ok = await lax.logReceived(lax.ticket([Buffer.from('a')]));
    expect(ok.code, ok.stderr.toString()).toBe(0);
    expect(lastLog(lax)).toMatch(/accepted .* v1$/);
    // keys.acceptV1Tickets must be a boolean.
    const typo = qube({ acceptV1Tickets: 'yes' });
    const bad = await typo.logReceived(typo.ticket([Buffer.from('a')]));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.toString()).toMatch(/qbuild\.json: keys\.acceptV1Tickets: must be true or false\n$/);
  });

  it('requires K of its configured witnesses: cosignatures made with tlog cosignature.ts', async () => {
    const w1 = generateWitnessKey('witness.one.example');
    const w2 = generateWitnessKey('witness.two.example');
    const stranger = generateWitnessKey('witness.three.example');
    const q = qube({ witnesses: [w1.verifierKey, w2.verifierKey], witnessQuorum: 2 });
    const logs = new TestLogs(q);
    const cosign = (...ws: { signerKey: string }[]) => (body: string) =>
      ws.map((w) => cosignCheckpoint(body, parseWitnessSignerKey(w.signerKey), Math.floor(Date.now() / 1000))).join('');
    const one = logs.ticket([Buffer.from('a')], 0, { cosign: cosign(w1, stranger) });
    const r = await q.logReceived(logs.note(one));
    expect(r.code).toBe(1);
    expect(r.stderr.toString()).toMatch(/witness quorum not met: 1 of the 2 configured witnesses cosigned checkpoint 1, 2 required\n$/);
    expect(held(q)).toBeUndefined();
    const twice = logs.ticket([Buffer.from('b')], 0, { cosign: cosign(w1, w1) });
    expect((await q.logReceived(logs.note(twice))).stderr.toString()).toMatch(/witness quorum not met: 1 of the 2/);
    const both = logs.ticket([Buffer.from('c')], 0, { cosign: cosign(w1, w2) });
    const ok = await q.logReceived(logs.note(both));
    expect(ok.code, ok.stderr.toString()).toBe(0);
    expect(ok.stdout.toString()).toBe('checkpoint-size 3\n');
    // A cosignature line that claims a configured witness but does not verify refuses the checkpoint.
    const t = logs.ticket([Buffer.from('d')], 3, { cosign: cosign(w1, w2) });
    const broken = { ...t, checkpoint: t.checkpoint.replace(/(— witness\.one\.example \S{10})\S/, (m, p: string) => `${p}${m.at(-1) === 'A' ? 'B' : 'A'}`) };
    const rb = await q.logReceived(logs.note(broken));
    expect(rb.code).toBe(1);
    expect(rb.stderr.toString()).toMatch(/: cosignature: cosignature by witness.one.example does not verify\n$/);
  });
});

/** The same log's ticket, re-made from another held size (as the logs VM does after a `checkpoint-size` reply). */
function ledgerTicketFrom(logs: TestLogs, t: TicketV2, from: number): TicketV2 {
  const l = logs.ledger;
  const entry = l.entry(t.leafIndex);
  return ledgerTicket(l, {
    leafIndex: t.leafIndex, entry, checkpoint: l.checkpoint().note,
    inclusion: l.merkle.inclusionProof(t.leafIndex, l.size).map((h) => h.toString('hex')),
    issued: t.issued.toISOString().replace(/\.\d{3}Z$/, 'Z'), expires: t.expires.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  }, from, undefined);
}

