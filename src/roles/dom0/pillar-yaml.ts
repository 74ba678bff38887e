import { LineCounter, parseDocument } from 'yaml';
import { QbuildError } from '../../errors.js';

/**
 * Reads pillar text as YAML, strictly:
 * - exactly one document, YAML 1.2 core schema (so `yes`/`on` stay strings);
 * - duplicate keys are an error (YAML itself forbids them; many parsers keep the last one);
 * - aliases are refused (a pillar has no need for them, and they hide where a value came from);
 * - any syntax error is reported as one line with its line number.
 */
export function parsePillarYaml(text: string, file: string): unknown {
  const lines = new LineCounter();
  const doc = parseDocument(text, { version: '1.2', uniqueKeys: true, prettyErrors: false, strict: true, lineCounter: lines });
  const first = doc.errors[0];
  if (first) {
    const line = lines.linePos(first.pos[0]).line;
    if (first.code === 'MULTIPLE_DOCS') {
      throw new QbuildError('pillar', `${file}: line ${line}: a second YAML document starts here; a pillar is one document (remove the "---")`);
    }
    if (first.code === 'DUPLICATE_KEY') {
      const key = text.slice(first.pos[0]).split('\n')[0]!.replace(/\s*:.*$/, '').slice(0, 60);
      throw new QbuildError('pillar', `${file}: line ${line}: duplicate key ${JSON.stringify(key)}`);
    }
    throw new QbuildError('pillar', `${file}: ${line ? `line ${line}: ` : ''}not valid YAML: ${firstLine(first.message)}`);
  }
  try {
    return doc.toJS({ maxAliasCount: 0 });
  } catch (e) {
    const msg = (e as Error).message;
    if (/alias/i.test(msg)) throw new QbuildError('pillar', `${file}: YAML aliases (*name) are not allowed in a pillar`);
    throw new QbuildError('pillar', `${file}: not usable YAML: ${firstLine(msg)}`);
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}
