import * as fs from 'node:fs';
import { isVersionTagName } from './ref-names.js';
import { parseTagObject, TagFormatError, type TagObject } from './tag-object.js';

type Git = typeof import('isomorphic-git');

/** The version tags of a fetched repository, sorted by where they point. */
export interface HeadTags {
  /** Annotated `v*` tags whose object is the head commit: the only ones that can count. */
  onHead: { name: string; tag: TagObject }[];
  /** `v*` tags whose tag object breaks the format rules (never count). */
  malformed: { name: string; reason: string }[];
  /** Lightweight `v*` tags on the head (no tag object, no signature: never count). */
  lightweight: string[];
  /** `v*` tags pointing at anything but the head commit. */
  elsewhere: string[];
  /** Tags starting with `v` that are not version names (see isVersionTagName). */
  notVersion: string[];
}

/**
 * Sorts every `v*` tag of `gitdir` relative to `head`. A tag counts as on the head only if its
 * own tag object says `object <head>` and `type commit`, and its `tag` header equals the ref's
 * name (a tag object stored under another name is a replayed tag, not this version).
 */
export async function versionTagsAt(gitdir: string, head: string): Promise<HeadTags> {
  const git = (await import('isomorphic-git')).default as unknown as Git;
  const out: HeadTags = { onHead: [], malformed: [], lightweight: [], elsewhere: [], notVersion: [] };
  for (const name of (await git.listTags({ fs, gitdir })).sort()) {
    if (!name.startsWith('v')) continue;
    if (!isVersionTagName(name)) { out.notVersion.push(name); continue; }
    const oid = await git.resolveRef({ fs, gitdir, ref: `refs/tags/${name}`, depth: 1 });
    const obj = await git.readObject({ fs, gitdir, oid, format: 'content' });
    if (obj.type !== 'tag') {
      (oid === head ? out.lightweight : out.elsewhere).push(name);
      continue;
    }
    let tag: TagObject;
    try {
      tag = parseTagObject(Buffer.from(obj.object as Uint8Array));
    } catch (e) {
      if (!(e instanceof TagFormatError)) throw e;
      out.malformed.push({ name, reason: e.message });
      continue;
    }
    if (tag.object !== head || tag.type !== 'commit') { out.elsewhere.push(name); continue; }
    if (tag.tag !== name) {
      out.malformed.push({ name, reason: `tag object names ${JSON.stringify(tag.tag)} but is stored as ${name}` });
      continue;
    }
    out.onHead.push({ name, tag });
  }
  return out;
}
