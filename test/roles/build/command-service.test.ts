import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleProcessGithubCommand } from '../../../src/roles/build/command-service.js';
import { TestSigner } from '../../helpers/gpg.js';

let dir: string;
let signer: TestSigner;
let block: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'qbuild-command-'));
  signer = new TestSigner();
  block = signer.clearsign('Build-iso r4.2 4.2.1 202401011200\n');
});
afterAll(() => { rmSync(dir, { recursive: true, force: true }); signer.cleanup(); });

async function command(input: string | Buffer, argument?: string): Promise<number> {
  const stdout = new PassThrough();
  stdout.on('data', () => { throw new Error('the service must print nothing'); });
  return handleProcessGithubCommand(
    { remoteDomain: 'sys-net', service: 'qubesbuilder.ProcessGithubCommand', argument, requestedTarget: 'build-fedora' },
    { stdin: Readable.from([Buffer.from(input)]), stdout, stderr: new PassThrough(), env: { QBUILD_STATE: join(dir, 'state') } },
  );
}

const records = () => {
  try { return readFileSync(join(dir, 'state', 'inbox', 'command.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)); } catch { return []; }
};

describe('qubesbuilder.ProcessGithubCommand: the shape checks before anything is recorded', () => {
  it('rejects input that is too long, unterminated, not clearsigned, or given an argument', async () => {
    const n = records().length;
    await expect(command(block + 'x'.repeat(8192))).rejects.toThrow(/longer than 8192/);
    await expect(command(block.trimEnd())).rejects.toThrow(/newline/);
    await expect(command('Build-iso r4.2 4.2.1 202401011200\n')).rejects.toThrow(/not a clearsigned command/);
    await expect(command(Buffer.concat([Buffer.from(block.slice(0, 60)), Buffer.from([0xff]), Buffer.from(block.slice(60))]))).rejects.toThrow(/printable/);
    await expect(command(block, 'x')).rejects.toThrow(/no argument/);
    expect(records()).toHaveLength(n);
    expect(n).toBe(0);
  });
});
