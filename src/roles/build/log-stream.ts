import type { Transport } from '../../protocol/qrexec/transport.js';
import { END_MARKER } from '../../protocol/buildlog/format.js';
import { formatManifestLine } from '../../protocol/buildlog/manifest.js';
import type { SignForm } from '../../protocol/signform.js';
import { QbuildError } from '../../errors.js';

/** One build stage's live log: every write reaches the logs VM as it happens (design §5). */
export interface BuildLogStream {
  /**
   * Sends bytes as they are. A returned promise means the stream to the logs VM is full: a
   * producer that can wait (the build stage's recipe output) waits for it before writing more.
   */
  write(data: string | Buffer): void | Promise<void>;
  /**
   * Sends the manifest line naming bytes this stage will ask to sign (design §6): `sha256` is
   * formDigest(form, bytes), form the one the signature will bind (docs/gate.md).
   */
  manifest(sha256: string, label: string, form?: SignForm): void;
  /** Ends the stage properly (end marker) and returns the path the logs VM stored it under. */
  finish(): Promise<string>;
}

/**
 * Opens `qubesbuilder.BuildLog[+SUB]` aimed at dom0, which policy redirects to this build
 * VM's logs VM (design §5: a build VM never names the logs VM itself).
 */
export function openBuildLog(transport: Transport, sub?: string): BuildLogStream {
  const call = transport.call({ target: 'dom0', service: 'qubesbuilder.BuildLog', argument: sub });
  const out: Buffer[] = [];
  let err = '';
  let atLineStart = true;
  const send = (data: string | Buffer) => {
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    if (b.length) atLineStart = b[b.length - 1] === 0x0a;
    if (call.stdin.write(b) || call.stdin.destroyed) return undefined;
    // Full: resolve on drain, or when the call ends (then finish() reports why).
    return new Promise<void>((resolve) => {
      const done = () => { call.stdin.off('drain', done); call.stdin.off('close', done); call.stdin.off('error', done); resolve(); };
      call.stdin.on('drain', done).on('close', done).on('error', done);
    });
  };
  call.stdout.on('data', (c: Buffer) => out.push(c));
  call.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  return {
    write: send,
    manifest: (sha256, label, form = 'binary') => { send(`${atLineStart ? '' : '\n'}${formatManifestLine({ form, sha256, label })}\n`); },
    finish: async () => {
      // The marker must be a line of its own, or the log reads as incomplete.
      call.stdin.end(`${atLineStart ? '' : '\n'}${END_MARKER}\n`);
      const code = await call.exit;
      if (code !== 0) throw new QbuildError('io', `qubesbuilder.BuildLog failed (exit ${code}): ${err.trim() || 'no message'}`);
      return Buffer.concat(out).toString('utf8').trim();
    },
  };
}
