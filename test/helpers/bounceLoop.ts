import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import { startTestApp, type TestApp } from './app.js';
import { createTestStore, type TestStore } from './database.js';
import { startDnsServer, type TestDnsServer } from './dnsServer.js';
import { freePort, prepareStore } from './process.js';
import { startSmtpSink, type SinkOptions } from './smtpSink.js';

export const BOUNCE_DOMAIN = 'bounces.mailroom.test';

/**
 * The bounce loop's real parts: Mailroom with roles api, worker and mx and the mx transport;
 * a DNS server that sends customer.test to 127.0.0.1; an SMTP sink there (on
 * MAILROOM_MX_DELIVERY_PORT) that records the VERP Return-Paths and refuses what `rcptReply`
 * refuses; elipackage.com verified for the default account.
 */
export interface BounceLoop {
  app: TestApp;
  sink: Awaited<ReturnType<typeof startSmtpSink>>;
  mxPort: number;
  /** Delivers a report to Mailroom's MX with Nodemailer, null sender; the reply, or the refusal. */
  deliverReport(to: string, raw: string): Promise<{ accepted: boolean; response: string }>;
  stop(): Promise<void>;
}

export async function startBounceLoop(rcptReply: SinkOptions['rcptReply'], env: Record<string, string> = {}): Promise<BounceLoop> {
  const port = await freePort();
  const mxPort = await freePort();
  const sink = await startSmtpSink({ port, ...(rcptReply ? { rcptReply } : {}) });
  let dns: TestDnsServer | undefined;
  let store: TestStore | undefined;
  try {
    dns = await startDnsServer({ 'customer.test': { MX: [{ exchange: 'mx.customer.test', priority: 10 }] }, 'mx.customer.test': { A: ['127.0.0.1'] } });
    store = await createTestStore();
    const encryptionKey = randomBytes(32);
    await prepareStore(store, ['elipackage.com'], encryptionKey);
    const app = await startTestApp({
      MAILROOM_ROLES: 'api,worker,mx',
      MAILROOM_TRANSPORT: 'mx',
      MAILROOM_DNS_SERVERS: dns.address,
      MAILROOM_MX_DELIVERY_PORT: String(port),
      MAILROOM_MX_PORT: String(mxPort),
      MAILROOM_BOUNCE_DOMAIN: BOUNCE_DOMAIN,
      MAILROOM_ENCRYPTION_KEY: encryptionKey.toString('base64'),
      ...env,
    }, { store });
    const [dnsServer, testStore] = [dns, store];
    return {
      app,
      sink,
      mxPort,
      async deliverReport(to, raw) {
        const client = nodemailer.createTransport({ host: '127.0.0.1', port: mxPort, secure: false, tls: { rejectUnauthorized: false } });
        try {
          const info = await client.sendMail({ envelope: { from: '', to: [to] }, raw });
          return { accepted: true, response: info.response };
        } catch (error) {
          return { accepted: false, response: String((error as { response?: string }).response ?? (error as Error).message) };
        } finally {
          client.close();
        }
      },
      async stop() {
        await app.stop();
        await testStore.dispose();
        await dnsServer.close();
        await sink.close();
      },
    };
  } catch (error) {
    await store?.dispose();
    await dns?.close();
    await sink.close();
    throw error;
  }
}
