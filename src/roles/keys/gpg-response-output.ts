import { encodeClose, encodeData, encodeExit } from '../../protocol/splitgpg/wire.js';
import type { ChunkSink } from '../../util/fd-io.js';

/** Writes frames to the caller and ends with the exit frame. */
export class ResponseOutput {
  constructor(private readonly stdout: ChunkSink, private readonly outputStreams: number) {}
  write(stream: number, data: Buffer | string): void {
    if (stream >= this.outputStreams) return;
    for (const f of encodeData(stream, typeof data === 'string' ? Buffer.from(data) : data)) this.stdout.write(f);
  }
  async finish(exit: number): Promise<void> {
    for (let i = 0; i < this.outputStreams; i++) this.stdout.write(encodeClose(i));
    await new Promise<void>((resolve) => this.stdout.write(encodeExit(exit), () => resolve()));
  }
}
