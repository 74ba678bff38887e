/**
 * Runs a daemon until the first SIGTERM or SIGINT, then stops it once; resolves when it has
 * stopped (a failing stop rejects: the CLI edge reports it, nothing is thrown away).
 */
export function untilSignal(daemon: { stop(): Promise<void> }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      daemon.stop().then(resolve, reject);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
