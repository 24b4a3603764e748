/**
 * The part of autocannon 9 (a CommonJS package without bundled types) that the benchmarks use.
 * `Client` exposes two fields the load helper relies on to drain connections gracefully:
 * `reqsMade` and `responseMax` (see lib/httpClient.js).
 */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    interface Client extends EventEmitter {
      /** Requests written on this connection so far. */
      reqsMade: number;
      /** When set, the client closes itself once it has received this many responses. */
      responseMax: number | undefined;
      destroyed: boolean;
    }

    /** What setupRequest receives and returns (the fields the benchmarks touch). */
    interface RequestData {
      path: string;
      body?: string | Buffer;
    }

    interface Options {
      url: string;
      method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
      headers?: Record<string, string>;
      body?: string | Buffer;
      connections?: number;
      pipelining?: number;
      /** Seconds. */
      duration?: number;
      amount?: number;
      /** Milliseconds between samples (default 1000). */
      sampleInt?: number;
      /** Seconds before a request counts as timed out. */
      timeout?: number;
      title?: string;
      excludeErrorStats?: boolean;
      setupClient?: (client: Client) => void;
      /**
       * Requests each connection sends in turn; setupRequest may rewrite each before it is sent,
       * onResponse sees each response (autocannon collects every body as a string).
       */
      requests?: {
        method?: string;
        path?: string;
        body?: string | Buffer;
        setupRequest?: (request: RequestData) => RequestData;
        onResponse?: (status: number, body: string) => void;
      }[];
    }

    interface Histogram {
      average: number;
      mean: number;
      stddev: number;
      min: number;
      max: number;
      total: number;
      p50: number;
      p90: number;
      p99: number;
      p99_9: number;
    }

    interface Result {
      title?: string;
      url: string;
      connections: number;
      duration: number;
      errors: number;
      timeouts: number;
      mismatches: number;
      non2xx: number;
      '1xx': number;
      '2xx': number;
      '3xx': number;
      '4xx': number;
      '5xx': number;
      statusCodeStats: Record<string, { count: number }>;
      latency: Histogram;
      requests: Histogram & { sent: number };
      throughput: Histogram;
      start: Date;
      finish: Date;
    }

    interface Instance extends EventEmitter, PromiseLike<Result> {
      stop(): void;
      on(event: 'start', listener: () => void): this;
      on(event: 'response', listener: (client: Client, statusCode: number, resBytes: number, responseTime: number) => void): this;
      on(event: 'reqError', listener: (error: Error) => void): this;
      on(event: 'done', listener: (result: Result) => void): this;
      on(event: string, listener: (...args: unknown[]) => void): this;
    }
  }

  function autocannon(options: autocannon.Options): autocannon.Instance;
  function autocannon(options: autocannon.Options, callback: (error: Error | null, result: autocannon.Result) => void): autocannon.Instance;

  export = autocannon;
}
