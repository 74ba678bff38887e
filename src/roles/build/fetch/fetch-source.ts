import { join } from 'node:path';
import { QbuildError, oneLine } from '../../../errors.js';
import type { BuildLogStream } from '../log-stream.js';
import type { ComponentConfig, SourceCheckout, StageContext } from '../pipeline/types.js';
import { checkoutTree } from './checkout-tree.js';
import { fetchBranchAndTags } from './git-fetch.js';
import { versionTagsAt, type HeadTags } from './head-tags.js';
import { loadMaintainerKeys } from './maintainer-keys.js';
import { checkBranchName, checkSourceUrl } from './ref-names.js';
import { decide, type TagVerdict } from './verdict.js';
import { verifyTagSignature } from './verify-signature.js';

/** Bounds on what one fetch may cost. */
export interface FetchLimits {
  /** The whole network part (discovery and pack). */
  timeoutMs: number;
  /** Bytes the remote may send (isomorphic-git holds the whole pack in memory to index it). */
  maxPackBytes: number;
  /** Bytes the checked-out tree may hold. */
  maxCheckoutBytes: number;
}

export const DEFAULT_FETCH_LIMITS: FetchLimits = {
  timeoutMs: 15 * 60_000,
  maxPackBytes: 256 * 1024 * 1024,
  maxCheckoutBytes: 4 * 1024 * 1024 * 1024,
};

/**
 * The fetch stage: the component's branch and tags over smart HTTP(S), the annotated `v*`
 * tags on the branch head verified against the component's maintainer keys (N of M distinct
 * maintainers), then the head commit's tree checked out into `<workDir>/source`. The fetched
 * objects stay in the bare repository `<workDir>/source.git` (readable by git itself). Every
 * step and the verdict go to `log`; any refusal is one line there and a QbuildError('source').
 */
export async function fetchSource(ctx: StageContext, comp: ComponentConfig, log: BuildLogStream, limits: FetchLimits = DEFAULT_FETCH_LIMITS): Promise<SourceCheckout> {
  const say = (line: string) => log.write(`${line}\n`);
  const progress = { accepted: false };
  try {
    return await fetchAndVerify(ctx, comp, say, limits, progress);
  } catch (e) {
    const err = e instanceof QbuildError ? e : new QbuildError('source', `fetch failed: ${oneLine(e)}`);
    // Before the verdict a failure refuses the source; after it, only the checkout failed.
    say(progress.accepted ? `fetch: FAILED: ${err.message}` : `verdict: REFUSED: ${err.message}`);
    throw err;
  }
}

async function fetchAndVerify(ctx: StageContext, comp: ComponentConfig, say: (l: string) => void, limits: FetchLimits, progress: { accepted: boolean }): Promise<SourceCheckout> {
  const stopIfAborted = () => { if (ctx.signal.aborted) throw new QbuildError('source', 'fetch aborted (the build daemon is stopping)'); };
  checkSourceUrl(comp.url);
  checkBranchName(comp.branch);
  say(`fetch: component ${comp.name}: ${comp.url} branch ${comp.branch}`);

  const keys = await loadMaintainerKeys(ctx.config.maintainerKeys, comp.maintainers);
  const need = Math.max(1, comp.minSignatures);
  say(`fetch: ${need} of ${keys.length} maintainer${keys.length === 1 ? '' : 's'} must sign: ${keys.map((k) => `${k.fingerprint} "${k.uid}"`).join(', ')}`);

  stopIfAborted();
  const repo = await fetchBranchAndTags(join(ctx.workDir, 'source.git'), comp.url, comp.branch, {
    deadline: Date.now() + limits.timeoutMs, maxBytes: limits.maxPackBytes, signal: ctx.signal,
  });
  say(`fetch: received ${repo.bytes} bytes; ${comp.branch} is at ${repo.head}`);

  stopIfAborted();
  const tags = await versionTagsAt(repo.gitdir, repo.head);
  logTags(tags, say);
  if (tags.onHead.length === 0) throw new QbuildError('source', noTagReason(tags, comp.branch, repo.head));

  const now = new Date();
  const verdicts: TagVerdict[] = [];
  for (const { name, tag } of tags.onHead) {
    const verdict = tag.signature
      ? await verifyTagSignature(tag.payload, tag.signature, keys, now)
      : { ok: false as const, reason: 'unsigned (no signature block)' };
    verdicts.push({ tag: name, verdict });
    const who = `tagger ${tag.tagger.name} <${tag.tagger.email}> at ${new Date(tag.tagger.time * 1000).toISOString()}`;
    say(verdict.ok
      ? `fetch: tag ${name} (${who}): good signature by maintainer ${verdict.maintainer.fingerprint} "${verdict.maintainer.uid}" (key ${verdict.signingKey}, made ${verdict.created.toISOString()})`
      : `fetch: tag ${name} (${who}): INVALID: ${verdict.reason}`);
  }
  const d = decide(verdicts, comp.minSignatures);
  if (!d.ok) throw new QbuildError('source', `v* tags on the head ${repo.head.slice(0, 12)} of ${comp.branch}: ${d.reason}`);
  progress.accepted = true;
  say(`verdict: ACCEPTED ${d.tag} (version ${d.version}) at ${repo.head}: ${d.signers.length} distinct maintainer${d.signers.length === 1 ? '' : 's'} signed (${need} required): ${d.signers.join(', ')}`);

  stopIfAborted();
  const dir = join(ctx.workDir, 'source');
  const tree = await checkoutTree(repo.gitdir, repo.head, dir, limits.maxCheckoutBytes);
  say(`fetch: checked out ${repo.head} into ${dir}: ${tree.files} files, ${tree.bytes} bytes`);
  if (tree.submodules.length) say(`fetch: submodules not fetched: ${tree.submodules.join(', ')}`);
  return { component: comp.name, dir, gitDir: repo.gitdir, commit: repo.head, tag: d.tag, version: d.version, signers: d.signers };
}

function logTags(t: HeadTags, say: (l: string) => void): void {
  const some = (names: string[]) => names.length > 10 ? `${names.slice(0, 10).join(', ')} and ${names.length - 10} more` : names.join(', ');
  say(`fetch: annotated v* tags on the head: ${t.onHead.length ? t.onHead.map((x) => x.name).join(', ') : 'none'}`);
  for (const name of t.lightweight) say(`fetch: tag ${name} on the head is lightweight (no tag object, no signature): not counted`);
  for (const m of t.malformed) say(`fetch: tag ${m.name}: malformed tag object: ${m.reason}`);
  if (t.elsewhere.length) say(`fetch: v* tags on other commits (not counted): ${some(t.elsewhere)}`);
  if (t.notVersion.length) say(`fetch: tags starting with v that are not version names (not counted): ${some(t.notVersion)}`);
}

/** Why nothing on the head can count, naming the nearest misses. */
function noTagReason(t: HeadTags, branch: string, head: string): string {
  const hints = [
    ...t.lightweight.map((n) => `${n} is a lightweight tag`),
    ...t.malformed.map((m) => `${m.name}: ${m.reason}`),
    ...(t.elsewhere.length ? [`${t.elsewhere.length} v* tag${t.elsewhere.length === 1 ? '' : 's'} on other commits (${t.elsewhere.slice(-3).join(', ')})`] : []),
  ];
  return `no annotated v* tag points at the head ${head.slice(0, 12)} of ${branch}${hints.length ? ` (${hints.join('; ')})` : ''}`;
}
