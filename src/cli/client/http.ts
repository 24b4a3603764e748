/**
 * A small client of Mailroom's HTTP API for the command line: fetch, the key from
 * MAILROOM_API_KEY, the errors of the API's envelope turned into one readable line. It imports
 * no server module, so that a client command starts in a fraction of a second.
 */
export class ClientError extends Error {
  constructor(message: string, readonly status: number | null = null, readonly code: string | null = null) {
    super(message);
  }
}

/** A wrong command line: exit 2. */
export class ClientUsageError extends Error {}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as it is, with this content type (a CSV), instead of JSON. */
  raw?: { contentType: string; data: string };
  headers?: Record<string, string>;
  /** Statuses answered rather than thrown (e.g. 404 for "not there"). */
  accept?: number[];
  /** Answer the body as text, not parsed JSON. */
  text?: boolean;
}

export class ApiClient {
  constructor(readonly baseUrl: string, private readonly key: string | null) {}

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.key) headers.authorization = `Bearer ${this.key}`;
    let body: string | undefined;
    if (options.raw) {
      headers['content-type'] = options.raw.contentType;
      body = options.raw.data;
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), { method, headers, body });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new ClientError(`cannot reach Mailroom at ${this.baseUrl} (${cause?.code ?? cause?.message ?? (error as Error).message}); set MAILROOM_URL`);
    }
    const text = await response.text();
    if (!response.ok && !(options.accept ?? []).includes(response.status)) throw errorOf(response.status, text);
    if (options.text) return { status: response.status, headers: response.headers, body: text as T };
    return { status: response.status, headers: response.headers, body: (text === '' ? null : JSON.parse(text)) as T };
  }
}

/** The API's error envelope as one line. */
export function errorOf(status: number, text: string): ClientError {
  try {
    const { error } = JSON.parse(text) as { error?: { code?: string; message?: string; details?: { field?: string; message?: string }[] } };
    if (error?.message) {
      const details = (error.details ?? []).map((detail) => `${detail.field ? `${detail.field} ` : ''}${detail.message ?? ''}`).join('; ');
      const hint = status === 401 ? ' (set MAILROOM_API_KEY)' : '';
      return new ClientError(`HTTP ${status} ${error.code ?? ''}: ${error.message}${details ? ` (${details})` : ''}${hint}`, status, error.code ?? null);
    }
  } catch {
    // not the API's envelope: say what came back
  }
  return new ClientError(`HTTP ${status}: ${text.slice(0, 200)}`, status);
}

export const DEFAULT_URL = 'http://127.0.0.1:3000';

export function clientFromEnv(env: NodeJS.ProcessEnv = process.env): ApiClient {
  return new ApiClient(env.MAILROOM_URL || DEFAULT_URL, env.MAILROOM_API_KEY || null);
}
