import { randomUUID } from 'node:crypto';
import { ConnectionError, errorFor, MailroomError, retryAfterMs, type ErrorDetail } from './errors.js';

/** What the generated code tells the transport about one operation. */
export interface OperationSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** With `{name}` placeholders. */
  path: string;
  /** Of the request body, when the operation takes one. */
  contentType?: string;
  /** Sends mail: every call carries an Idempotency-Key, the same on each of its retries. */
  sendsMail?: boolean;
}

export interface RequestArguments {
  path?: Record<string, string | number>;
  query?: object | undefined;
  body?: unknown;
}

/** Per call. */
export interface RequestOptions {
  /** Used instead of a generated one (any operation; send operations generate one when not given). */
  idempotencyKey?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Overrides the client's maxRetries for this call. */
  maxRetries?: number;
}

export interface TransportOptions {
  apiKey: string;
  /** e.g. https://mail.example.com (a path prefix is kept). */
  baseUrl: string;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Retries after the first attempt (default 2). */
  maxRetries?: number;
  /** Backoff of the first retry when the server names no Retry-After (default 500 ms), doubled each time. */
  initialRetryDelayMs?: number;
  /** Cap of one wait (default 30 s). A Retry-After longer than this is not waited for: the error is thrown at once. */
  maxRetryDelayMs?: number;
}

const RETRYABLE_METHODS = new Set(['GET', 'PUT', 'PATCH', 'DELETE']);

const sleep = (ms: number, signal: AbortSignal | undefined) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

interface ErrorEnvelope {
  meta?: { transactionId?: string };
  error?: { code?: string; message?: string; details?: ErrorDetail[] };
}

/**
 * Sends one operation: builds the URL, authenticates, retries what may be retried, and turns an
 * error answer into a typed exception.
 *
 * Retried: 429 always (Mailroom refused it before doing anything), and 5xx or no answer when a
 * repeat cannot do the work twice: GET, PUT, PATCH, DELETE, or a request with an Idempotency-Key
 * (every send has one). Other POSTs that failed with 5xx are not repeated: a domain could be
 * created twice. Waits honour Retry-After, otherwise capped exponential backoff with full jitter
 * (so that many clients refused at once do not come back at once).
 */
export class Transport {
  private readonly fetch: typeof fetch;
  private readonly baseUrl: string;
  private readonly maxRetries: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(private readonly options: TransportOptions) {
    if (!options.apiKey) throw new TypeError('Mailroom: apiKey is required');
    if (!options.baseUrl) throw new TypeError('Mailroom: baseUrl is required');
    this.fetch = options.fetch ?? globalThis.fetch;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.maxRetries = options.maxRetries ?? 2;
    this.initialDelayMs = options.initialRetryDelayMs ?? 500;
    this.maxDelayMs = options.maxRetryDelayMs ?? 30_000;
  }

  async request<T>(operation: OperationSpec, args: RequestArguments, options: RequestOptions = {}): Promise<T> {
    const url = this.urlOf(operation, args);
    const headers = new Headers(options.headers);
    headers.set('authorization', `Bearer ${this.options.apiKey}`);
    headers.set('accept', 'application/json');
    const idempotencyKey = options.idempotencyKey ?? (operation.sendsMail ? randomUUID() : undefined);
    if (idempotencyKey !== undefined) headers.set('idempotency-key', idempotencyKey);
    let body: string | undefined;
    if (args.body !== undefined && operation.contentType) {
      headers.set('content-type', operation.contentType);
      body = operation.contentType === 'application/json' ? JSON.stringify(args.body) : String(args.body);
    }
    const repeatable = RETRYABLE_METHODS.has(operation.method) || idempotencyKey !== undefined;
    const maxRetries = options.maxRetries ?? this.maxRetries;

    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.fetch(url, { method: operation.method, headers, body, signal: options.signal });
      } catch (cause) {
        if (options.signal?.aborted) throw cause;
        const error = new ConnectionError({ status: 0, code: 'CONNECTION_ERROR', message: `No answer from ${url.origin}: ${(cause as Error).message}`, cause });
        if (!repeatable || attempt >= maxRetries) throw error;
        await sleep(this.backoffMs(attempt), options.signal);
        continue;
      }
      if (response.ok) return (await this.parse(response)) as T;
      const error = await this.errorOf(response);
      const retryable = response.status === 429 || (response.status >= 500 && repeatable);
      if (!retryable || attempt >= maxRetries) throw error;
      const asked = retryAfterMs(response.headers.get('retry-after'), Date.now());
      if (asked !== null && asked > this.maxDelayMs) throw error;
      await sleep(asked ?? this.backoffMs(attempt), options.signal);
    }
  }

  /** Full jitter over a doubling window, capped. */
  private backoffMs(attempt: number): number {
    const window = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** attempt);
    return Math.round(window / 2 + Math.random() * (window / 2));
  }

  private urlOf(operation: OperationSpec, args: RequestArguments): URL {
    const path = operation.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
      const value = args.path?.[name];
      if (value === undefined) throw new TypeError(`Mailroom: ${operation.method} ${operation.path} needs ${name}`);
      return encodeURIComponent(String(value));
    });
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(args.query ?? {})) {
      if (value === undefined || value === null) continue;
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(item));
    }
    return url;
  }

  /** JSON when the answer says so; text (CSV) otherwise; the Response itself for an event stream, which never ends. */
  private async parse(response: Response): Promise<unknown> {
    const type = response.headers.get('content-type') ?? '';
    if (type.startsWith('text/event-stream')) return response;
    if (response.status === 204) return undefined;
    const text = await response.text();
    if (!type.includes('json')) return text;
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  }

  private async errorOf(response: Response): Promise<MailroomError> {
    const text = await response.text().catch(() => '');
    let envelope: ErrorEnvelope = {};
    try {
      envelope = JSON.parse(text) as ErrorEnvelope;
    } catch {
      // Not Mailroom's envelope (a proxy's error page): the status alone says what happened.
    }
    return errorFor({
      status: response.status,
      code: envelope.error?.code ?? `HTTP_${response.status}`,
      message: envelope.error?.message ?? (text.slice(0, 200) || response.statusText || `HTTP ${response.status}`),
      details: envelope.error?.details ?? [],
      transactionId: envelope.meta?.transactionId ?? null,
      headers: response.headers,
    });
  }
}
