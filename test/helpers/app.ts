import { createAccount } from '../../src/accounts/accounts.js';
import { createKey } from '../../src/accounts/apiKeys.js';
import { startMailroom, type Mailroom } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger, type Logger } from '../../src/shared/log.js';
import type { Clock } from '../../src/shared/clock.js';
import { createTestStore, type TestStore } from './database.js';

export const TEST_KEY = 'mr_test_bootstrap_key_0123456789abcdef';

export interface TestApp {
  mailroom: Mailroom;
  store: TestStore;
  url: string;
  key: string;
  /** fetch against the API with the bootstrap key (or the key given). */
  api(path: string, init?: RequestInit & { json?: unknown; key?: string | null }): Promise<Response>;
  stop(): Promise<void>;
}

/** A whole Mailroom in this process on a fresh database, on a free port, with a known key. */
export async function startTestApp(env: Record<string, string> = {}, options: { clock?: Clock; store?: TestStore; log?: Logger } = {}): Promise<TestApp> {
  const store = options.store ?? (await createTestStore());
  const config = loadConfig({
    env: {
      MAILROOM_HTTP_PORT: '0',
      MAILROOM_BOOTSTRAP_API_KEY: TEST_KEY,
      MAILROOM_LOG_LEVEL: process.env.MAILROOM_TEST_LOG_LEVEL ?? 'silent',
      MAILROOM_ROLES: 'api,worker',
      ...store.env,
      ...env,
    },
    cwd: store.settings.dataDir,
  });
  const mailroom = await startMailroom(config, options.log ?? createLogger(config.logLevel), options.clock);
  const url = mailroom.url!;
  return {
    mailroom,
    store,
    url,
    key: TEST_KEY,
    api(path, init = {}) {
      const { json, key, ...rest } = init;
      const headers = new Headers(rest.headers);
      const useKey = key === undefined ? TEST_KEY : key;
      if (useKey !== null) headers.set('authorization', `Bearer ${useKey}`);
      if (json !== undefined) headers.set('content-type', 'application/json');
      return fetch(url + path, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body });
    },
    async stop() {
      await mailroom.stop();
      if (!options.store) await store.dispose();
    },
  };
}

/** Polls until check() returns a value (not undefined/false), or fails after timeoutMs. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const SEED_REQUEST = {
  to: 'john.doe@example.com',
  from: 'promo@elipackage.com',
  text: 'we have a new offer this week',
  subject: 'EliPackage Promo',
  externalId: '123456789abcde',
  clientId: '48118112',
  callbacks: ['string'],
  alias: 'New User',
};

/** A second account with an API key of its own: for the tests that one account never sees another's data. */
export async function otherAccountKey(app: TestApp, name: string): Promise<string> {
  await createAccount(app.mailroom.db, app.mailroom.secrets, name);
  return (await createKey(app.mailroom.db, { accountName: name })).key;
}
