import type { Logger } from '../shared/log.js';

/** Within this long of the first signal, another one is the same request (see below). */
const SAME_REQUEST_MS = 1000;
const PARENT_CHECK_MS = 1000;

/**
 * SIGTERM, SIGINT and SIGHUP stop Mailroom gracefully (in-flight work finished); a second signal
 * exits at once. Ctrl-C under `npm start` reaches Mailroom twice (from the terminal and forwarded
 * by npm), so signals within a second of the first count as one.
 *
 * Under npm (npm_lifecycle_event set), Mailroom also stops when its parent goes away: npm killed
 * with SIGKILL cannot forward anything, and an orphaned server would keep holding the ports and
 * the data directory's lock.
 */
export function stopOnSignals(stop: () => Promise<void>, log: Logger, env: NodeJS.ProcessEnv = process.env): void {
  let firstAt: number | null = null;
  const shutdown = (reason: string) => {
    const now = Date.now();
    if (firstAt !== null) {
      if (now - firstAt < SAME_REQUEST_MS) return;
      log.warn('second signal: exiting now');
      process.exit(1);
    }
    firstAt = now;
    log.info({ reason }, 'shutting down: finishing in-flight work');
    stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => shutdown(signal));
  if (env.npm_lifecycle_event) {
    const parent = process.ppid;
    const watch = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(watch);
      shutdown('the npm process that started Mailroom is gone');
    }, PARENT_CHECK_MS).unref();
  }
}
