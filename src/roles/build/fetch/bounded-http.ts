import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import { QbuildError } from '../../../errors.js';

export interface HttpBounds {
  /** Absolute time (ms since the epoch) by which every request and body must be done. */
  deadline: number;
  /** Response bytes allowed over all requests (the pack is nearly all of it). */
  maxBytes: number;
  signal: AbortSignal;
}

/** An isomorphic-git HTTP client bounded in time and size; `received()` counts body bytes. */
export interface BoundedHttp extends HttpClient {
  received(): number;
  /**
   * The first bound that was hit, if any. isomorphic-git's pkt-line reader can swallow an
   * error thrown from a body stream (it sees a short stream), so callers ask here afterwards.
   */
  failure(): QbuildError | undefined;
  /** Aborts whatever request is still open (a stalled one holds its connection otherwise). */
  close(): void;
}

/**
 * Wraps isomorphic-git's node HTTP client so a remote can neither stall a fetch past the
 * deadline nor send more than `maxBytes`: each wait (headers, every body chunk) races the
 * deadline and the abort signal; when a bound is hit the open request is aborted (the node
 * client takes an AbortSignal) and the body stream destroyed.
 */
export function boundedHttp(inner: HttpClient, url: string, b: HttpBounds): BoundedHttp {
  const requests = new AbortController();
  let received = 0;
  let failure: QbuildError | undefined;
  const fail = (e: QbuildError): QbuildError => {
    failure ??= e;
    requests.abort();
    return failure;
  };
  const limited = <T>(p: Promise<T>): Promise<T> => {
    const left = b.deadline - Date.now();
    if (b.signal.aborted) return Promise.reject(fail(new QbuildError('source', `fetch of ${url} aborted`)));
    if (left <= 0) return Promise.reject(fail(timeout(url)));
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(fail(timeout(url))), left);
      onAbort = () => reject(fail(new QbuildError('source', `fetch of ${url} aborted`)));
      b.signal.addEventListener('abort', onAbort, { once: true });
    });
    return Promise.race([p, stop]).finally(() => {
      clearTimeout(timer);
      b.signal.removeEventListener('abort', onAbort!);
    });
  };

  async function* body(it: AsyncIterableIterator<Uint8Array>): AsyncIterableIterator<Uint8Array> {
    try {
      for (;;) {
        const r = await limited(it.next());
        if (r.done) return;
        received += r.value.byteLength;
        if (received > b.maxBytes) throw fail(new QbuildError('source', `fetch of ${url} exceeded the limit of ${b.maxBytes} bytes`));
        yield r.value;
      }
    } finally {
      // Ends the underlying response stream (node destroys it) on any early exit.
      await it.return?.();
    }
  }

  return {
    received: () => received,
    failure: () => failure,
    close: () => requests.abort(),
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const res = await limited(inner.request({ ...req, signal: requests.signal } as GitHttpRequest));
      return res.body ? { ...res, body: body(res.body) } : res;
    },
  };
}

function timeout(url: string): QbuildError {
  return new QbuildError('source', `fetch of ${url} timed out`);
}
