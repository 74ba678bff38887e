import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logTail } from '../../../../src/roles/build/report/tail.js';
import { tempDirs } from '../../../helpers/tmp.js';

const tmp = tempDirs('qb-tail-');

describe('the failure report\'s log tail', () => {
  it('is the last lines of the stage log copy; a huge log is read only at its end; control characters go', () => {
    const f = join(tmp(), 'build-vm-fc42.log');
    const lines = Array.from({ length: 200_000 }, (_, i) => `line ${i}`);
    writeFileSync(f, `${lines.join('\n')}\n\x1b[31mred\x1b[0m\tend\r\n`);
    expect(logTail(f, 3)).toEqual(['line 199998', 'line 199999', '[31mred[0m\tend']);
    expect(logTail(f, 30)).toHaveLength(30);
  });

  it('is empty when the copy is missing (it is a convenience; the evidence is in the logs VM)', () => {
    expect(logTail(join(tmp(), 'none.log'), 30)).toEqual([]);
  });
});
