import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeAtomically } from '../../src/util/durable-file.js';
import { tempDirs } from '../helpers/tmp.js';

const tmp = tempDirs('qbuild-durable-');

describe('writeAtomically', () => {
  it('replaces the file whole, with the given mode even over a stale temporary file', () => {
    const dir = tmp();
    const path = join(dir, 'key.json');
    writeFileSync(path, 'old');
    writeFileSync(`${path}.tmp`, 'stale, world-readable', { mode: 0o644 });
    writeAtomically(path, Buffer.from('new'), 0o600);
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(existsSync(`${path}.tmp`)).toBe(false);
  });
});
