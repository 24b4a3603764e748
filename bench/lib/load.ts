import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  connections: number;
  /** Length of the measured window. */
  seconds: number;
  /** Paths (of url's host) the requests go to in turn, across all connections; default url's own. */
  paths?: readonly string[];
  /**
   * Bodies each connection sends in turn; default `body`. Every connection builds every request
   * as the run starts (autocannon), so a few hundred at most.
   */
  bodies?: readonly string[];
  /** Called with every response's status and body (autocannon collects the body either way). */
  onBody?: (status: number, body: string) => void;
  /** Count 3xx answers as successes (a redirecting endpoint). */
  redirectsOk?: boolean;
}

export interface LoadResult {
  /** Measured window, seconds (from the first request to the end of the window). */
  seconds: number;
  /** 2xx responses received inside the window: the basis of the rate. */
  okInWindow: number;
  /**
   * Every 2xx response, including the ones that answered requests already in flight when the
   * window closed. The load is drained, not cut (see `load`), so this is the number of requests
   * the server acknowledged: the figure the durability check compares with the stored rows.
   */
  ok: number;
  /** 2xx per second over the window. */
  okPerSecond: number;
  non2xx: number;
  /** Response counts by status code. */
  statusCodes: Record<string, number>;
  /** Connection errors and time-outs (requests without any response). */
  errors: number;
  timeouts: number;
  /** Requests written. */
  sent: number;
  /** The window on the system's monotonic clock, microseconds (the clock V8's CPU profiles use). */
  monotonicWindowUs: [number, number];
  /** Latency of 2xx responses, milliseconds. */
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
}

/** A growable array of latencies, for exact percentiles (a 20 s run records a few 100k values). */
class Samples {
  private values = new Float64Array(1 << 16);
  private length = 0;

  add(value: number): void {
    if (this.length === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.length++] = value;
  }

  summary(): LoadResult['latency'] {
    const sorted = this.values.slice(0, this.length).sort();
    const at = (p: number) => (sorted.length === 0 ? NaN : sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!);
    let sum = 0;
    for (const value of sorted) sum += value;
    return { p50: at(50), p90: at(90), p99: at(99), max: at(100), mean: sorted.length === 0 ? NaN : sum / sorted.length };
  }
}

/** autocannon's per-request settings: the bodies in turn, the paths in turn, a look at each response's body. */
function requestList(options: LoadOptions, nextPath: () => string): NonNullable<autocannon.Options['requests']> {
  return (options.bodies ?? [undefined]).map((body) => ({
    ...(body === undefined ? {} : { body }),
    ...(options.paths ? { setupRequest: (request: autocannon.RequestData) => ({ ...request, path: nextPath() }) } : {}),
    ...(options.onBody ? { onResponse: options.onBody } : {}),
  }));
}

/** How long the drain may take before the run is cut anyway (a stuck server). */
const DRAIN_LIMIT_SECONDS = 15;

/**
 * Closed-loop load with autocannon: `connections` keep-alive connections, each sending its next
 * request as soon as the previous one is answered.
 *
 * autocannon ends a duration-bound run by destroying its sockets, which abandons the requests in
 * flight: the server may still store them, and the client would never know, so a count of
 * stored rows could not be compared exactly with a count of 2xx responses. Instead, when the
 * window closes, each connection is told to stop after the response to the request it has in
 * flight (autocannon's per-client `responseMax`), and the run ends when every connection has
 * closed. The rate is computed over the window; the drained responses count only in `ok`.
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const clients: autocannon.Client[] = [];
  const latencies = new Samples();
  const statusCodes: Record<string, number> = {};
  let ok = 0;
  let okInWindow = 0;
  let non2xx = 0;
  let windowOpen = true;

  let pathIndex = 0;
  const nextPath = () => options.paths![pathIndex++ % options.paths!.length]!;
  const isOk = (status: number) => (status >= 200 && status < 300) || (options.redirectsOk === true && status >= 300 && status < 400);
  const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);
  const started = performance.now();
  const monotonicStart = monotonicUs();
  let windowEnd = Number.NaN;
  let monotonicEnd = Number.NaN;
  const instance = autocannon({
    url: options.url,
    method: options.method,
    headers: options.headers,
    ...(options.body === undefined ? {} : { body: options.body }),
    connections: options.connections,
    pipelining: 1,
    // autocannon's own end of run is only a safety net: the drain below normally ends it first.
    duration: options.seconds + DRAIN_LIMIT_SECONDS,
    sampleInt: 100,
    timeout: 10,
    setupClient: (client) => {
      clients.push(client);
    },
    ...(options.paths || options.bodies || options.onBody ? { requests: requestList(options, nextPath) } : {}),
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
    if (isOk(statusCode)) {
      ok++;
      if (windowOpen) okInWindow++;
      latencies.add(responseTime);
    } else {
      non2xx++;
    }
  });

  const closeWindow = setTimeout(() => {
    windowOpen = false;
    windowEnd = performance.now();
    monotonicEnd = monotonicUs();
    for (const client of clients) client.responseMax = Math.max(1, client.reqsMade);
  }, options.seconds * 1000);
  const result = await instance;
  clearTimeout(closeWindow);
  if (windowOpen) {
    // The safety net fired before the window closed (cannot happen unless timers starve).
    windowOpen = false;
    windowEnd = performance.now();
    monotonicEnd = monotonicUs();
  }
  const seconds = (windowEnd - started) / 1000;
  return {
    seconds,
    okInWindow,
    ok,
    okPerSecond: okInWindow / seconds,
    non2xx,
    statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
    sent: result.requests.sent,
    monotonicWindowUs: [monotonicStart, monotonicEnd],
    latency: latencies.summary(),
  };
}
