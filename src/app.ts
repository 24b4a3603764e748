import { Verp } from './bounces/verp.js';
import { startMxServer, type MxServer } from './bounces/mxServer.js';
import { TrackingLinks } from './tracking/links.js';
import { loadKeyRing } from './config/secrets.js';
import { Sealer } from './crypto/sealed.js';
import { sealSecretsAtStart } from './secrets/reseal.js';
import type { FastifyInstance } from 'fastify';
import { KeyAuthenticator } from './accounts/apiKeys.js';
import { SmtpCredentialResolver } from './accounts/smtpCredentials.js';
import { ipCredentialRules } from './accounts/ipCredentials.js';
import { bootstrapAccounts, issueFirstKey } from './accounts/bootstrap.js';
import type { Config } from './config/settings.js';
import type { Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import { openDatabase } from './db/open.js';
import { createTransport } from './delivery/transports.js';
import { DeliveryWorker } from './delivery/worker.js';
import { buildHttpServer, type HttpDeps } from './http/server.js';
import { loadHipaaTls, warnHipaaPlainHttp } from './hipaa/tls.js';
import { AuditLog } from './audit/audit.js';
import { AuditChain } from './audit/chain.js';
import { SessionStore } from './sessions/sessions.js';
import { deriveKey } from './shared/signatures.js';
import { httpLimits } from './http/limits.js';
import { QueueNotifier } from './queue/notifier.js';
import { Queue } from './queue/queue.js';
import { WorkerIdentity } from './queue/workers.js';
import { SendPipeline } from './sending/pipeline.js';
import { createSendingPolicy } from './sending/policy/build.js';
import { TemplateStore } from './templates/templates.js';
import { SenderRegistry } from './senders/senders.js';
import { ConfirmationLinks } from './senders/confirmationLinks.js';
import { systemAddressOf, systemSenderOf } from './senders/systemSender.js';
import { SubscribeLinks } from './subscriptions/links.js';
import { UnconfirmedPurge } from './subscriptions/purge.js';
import { Subscriptions } from './subscriptions/subscriptions.js';
import { SuppressionChecker } from './suppression/suppressions.js';
import { SuppressionCache } from './suppression/cache.js';
import { ReputationMonitor, reputationPolicy } from './reputation/monitor.js';
import { DomainRechecker, domainSettings } from './domains/recheck.js';
import { unqualifiedNames } from './domains/settings.js';
import { ReportConsumer } from './reports/consumer.js';
import { CampaignFeeder } from './campaigns/feeder.js';
import { createMessageWriter } from './sending/store.js';
import { ImportRunner } from './lists/importRunner.js';
import { systemClock, type Clock } from './shared/clock.js';
import type { Logger } from './shared/log.js';
import { createMetrics } from './shared/metrics.js';
import { startMetricsServer, type MetricsServer } from './http/metricsServer.js';
import { startHipaaSubmissionServer, startSubmissionServer, type SubmissionServer } from './smtp/server.js';
import { loadTlsMaterial } from './smtp/tls.js';
import { DEFAULT_DISPATCHER_OPTIONS, WebhookDispatcher } from './webhooks/dispatcher.js';
import { WebhookSender } from './webhooks/sender.js';
import { TargetResolver } from './webhooks/ssrf.js';
import { HipaaVault } from './hipaa/vault.js';
import { Shredder } from './hipaa/shredder.js';

/** How often a worker looks for workers that died, to hand their leases back. */
const DEAD_WORKER_CHECK_MS = 5_000;

export interface Mailroom {
  db: Database;
  http: FastifyInstance | null;
  /** http://host:port of the API, when the api role runs. */
  url: string | null;
  /** A generated first API key, set only on the first start without MAILROOM_BOOTSTRAP_API_KEY. */
  generatedKey: string | null;
  /** The delivery worker, when the worker role runs (tests wake it after moving a manual clock). */
  worker: DeliveryWorker | null;
  /** host:port of the SMTP listeners, when the smtp role runs. */
  smtp: SubmissionServer['addresses'] | null;
  /** The webhook dispatcher, which runs with the worker role. */
  webhooks: WebhookDispatcher | null;
  /** host:port of the inbound MX, when the mx role runs. */
  mx: string | null;
  /** List sign-ups and their confirmation (tests run the purge on demand). */
  subscriptions: Subscriptions;
  /** The reputation check, which runs with the worker and mx roles (tests run it on demand). */
  reputation: ReputationMonitor | null;
  /** The report consumer, which runs with the worker role (tests and benchmarks catch it up on demand). */
  reports: ReportConsumer | null;
  /** Seals and opens the stored secrets with this process's key ring. */
  secrets: Sealer;
  /** http://host:port of the /metrics listener, when MAILROOM_METRICS_PORT is set. */
  metricsUrl: string | null;
  /** The CSV imports this process runs, when the api role runs. */
  imports: ImportRunner | null;
  /** The campaign feeder, which runs with the worker role. */
  campaigns: CampaignFeeder | null;
  /** Shreds HIPAA messages after their final status (worker role). */
  shredder: Shredder | null;
  /** The HIPAA listeners (docs/HIPAA.md), when their ports are set: https://host:port of the API, host:port of SMTP. */
  hipaa: { url: string | null; smtp: string | null };
  stop(): Promise<void>;
}

/**
 * Wires one process: the database (migrated), then each role of MAILROOM_ROLES. Shutdown runs in
 * the reverse order: stop accepting, finish in-flight work, release leases, close the database.
 */
export async function startMailroom(config: Config, log: Logger, clock: Clock = systemClock): Promise<Mailroom> {
  const db = await openDatabase(config);
  let shuttingDown = false;
  let http: FastifyInstance | null = null;
  let worker: DeliveryWorker | null = null;
  let webhooks: WebhookDispatcher | null = null;
  let smtp: SubmissionServer | null = null;
  let mx: MxServer | null = null;
  let monitor: ReputationMonitor | null = null;
  let rechecker: DomainRechecker | null = null;
  let purge: UnconfirmedPurge | null = null;
  let reports: ReportConsumer | null = null;
  let suppressionCache: SuppressionCache | null = null;
  let identity: WorkerIdentity | null = null;
  let metricsServer: MetricsServer | null = null;
  let imports: ImportRunner | null = null;
  let campaigns: CampaignFeeder | null = null;
  let shredder: Shredder | null = null;
  let hipaaHttp: FastifyInstance | null = null;
  let hipaaSmtp: { address: string; close(): Promise<void> } | null = null;
  try {
    const applied = await migrate(db);
    if (applied.length > 0) log.info({ migrations: applied }, 'database migrated');
    // Mail that leaves the machine needs domain records that resolve: said at boot, and on each record.
    if (config.transport !== 'sandbox') for (const problem of unqualifiedNames(domainSettings(config))) log.warn({ record: problem.record }, problem.message);
    const ring = loadKeyRing(config);
    const secrets = new Sealer(ring);
    await sealSecretsAtStart(db, secrets, log);
    await bootstrapAccounts(db, secrets, config.bootstrapApiKey, log);
    if (db.kind === 'pglite') {
      // The data directory is locked to this process: any lease in it belonged to a dead one.
      await new Queue(db).releaseAll(clock.now());
    }
    if (config.roles.includes('worker')) {
      // Before the first claim: the leases of this process's predecessor (killed, say) come back
      // now, not when they run out.
      identity = await WorkerIdentity.register(db, clock, log);
      await identity.recoverDead();
    }

    const metrics = createMetrics(db);
    if (config.metricsPort > 0) {
      metricsServer = await startMetricsServer({ host: config.metricsHost, port: config.metricsPort }, metrics, log);
      log.info({ url: metricsServer.url }, 'Mailroom metrics listening');
    }
    const audit = new AuditLog(db, new AuditChain(ring), clock, log);
    // The api role's sends write audit entries to be chained (src/audit/audit.ts); it also
    // chains those a stopped process left waiting.
    if (config.roles.includes('api')) audit.startSweeping();
    const notifier = new QueueNotifier(db);
    const writer = createMessageWriter(db, notifier);
    const suppressions = new SuppressionChecker(db);
    if (config.roles.includes('smtp')) {
      suppressionCache = new SuppressionCache(db, suppressions);
      await suppressionCache.start();
    }
    const policy = createSendingPolicy(config, db, clock);
    const templates = new TemplateStore(db);
    const vault = new HipaaVault(db, secrets);
    const pipeline = new SendPipeline({ db, writer, notifier, metrics, clock, policy, templates, suppressions, suppressionCache, vault });
    const reputation = reputationPolicy(config);
    const authenticator = new KeyAuthenticator(db);
    const smtpCredentials = new SmtpCredentialResolver(db, { log });
    const targets = new TargetResolver(config.dnsServers, config.allowPrivateCallbacks);
    const links = new TrackingLinks(ring, config.publicUrl);

    const verp = new Verp(ring);
    if (config.roles.includes('worker') || config.roles.includes('mx')) {
      monitor = new ReputationMonitor(db, reputation, clock, log, config.reputationCheckSeconds * 1000);
      monitor.start();
    }
    const subscriptions = new Subscriptions({
      db, pipeline, clock, log, links: new SubscribeLinks(ring, config.publicUrl), systemSender: systemSenderOf(config),
      limits: { perIpPerMinute: config.subscribePerIpPerMinute, perAddressPerHour: config.subscribePerAddressPerHour, unconfirmedPurgeDays: config.unconfirmedPurgeDays },
    });
    if (config.roles.includes('worker')) {
      rechecker = new DomainRechecker(db, domainSettings(config), clock, log);
      rechecker.start();
      purge = new UnconfirmedPurge(subscriptions, log);
      purge.start();
      reports = new ReportConsumer(db, log);
      reports.start();
      shredder = new Shredder(db, clock, log, { retentionMs: config.hipaaRetentionHours * 3_600_000 });
      shredder.start();
      worker = new DeliveryWorker(db, createTransport(config, log), clock, log, {
        concurrency: config.workerConcurrency,
        leaseMs: config.leaseSeconds * 1000,
        maxRetryMs: config.maxRetryHours * 3600 * 1000,
        verp,
        secrets,
        vault,
        bounceDomain: config.bounceDomain,
        systemAddress: systemAddressOf(config),
        links,
        leaseToken: () => identity!.leaseToken(),
        onRecorded: (bounced) => {
          webhooks?.wakeUp();
          shredder?.poke();
          // Only a bounce can raise a rate; a check after every delivery batch took PGlite's one
          // connection once a second from the results it records (the chaos test's duplicates
          // doubled: a result recorded later is a result lost to a crash more often).
          if (bounced) monitor?.poke();
        },
      }, metrics);
      await worker.start();
      webhooks = new WebhookDispatcher(db, new WebhookSender(targets, config.allowPrivateCallbacks), secrets, clock, log, {
        ...DEFAULT_DISPATCHER_OPTIONS, retentionMs: config.webhookRetentionDays * 86_400_000, leaseToken: () => identity!.leaseToken(),
      });
      await webhooks.start();
      campaigns = new CampaignFeeder({ db, pipeline, clock, log, leaseToken: () => identity!.leaseToken() });
      campaigns.start();
      identity?.start(DEAD_WORKER_CHECK_MS, () => {
        worker?.wakeUp();
        webhooks?.wakeUp();
        campaigns?.poke();
      });
    }
    // SMTP and the MX listen before HTTP, so that /readyz answering means every door of this process is open.
    const tls = config.roles.includes('smtp') || config.roles.includes('mx') ? await loadTlsMaterial(config, log) : null;
    if (config.roles.includes('mx') && tls) {
      mx = await startMxServer({ host: config.mxHost, port: config.mxPort, hostname: config.smtpHostname, bounceDomain: config.bounceDomain }, tls, {
        db, verp, clock, log, vault, onFeedback: () => {
          monitor?.poke();
          webhooks?.wakeUp();
        },
      });
      log.info({ address: mx.address }, 'Mailroom inbound MX listening');
    }
    if (config.roles.includes('smtp') && tls) {
      smtp = await startSubmissionServer(config, tls, { pipeline, keys: authenticator, credentials: smtpCredentials, log, audit });
      log.info({ ...smtp.addresses, selfSignedCertificate: tls.selfSigned }, 'Mailroom SMTP submission listening');
    }
    const hipaaTls = (config.roles.includes('smtp') && config.hipaaSmtpPort > 0) || (config.roles.includes('api') && config.hipaaHttpPort > 0 && !config.hipaaHttpPlain)
      ? await loadHipaaTls(config, log) : null;
    if (config.roles.includes('smtp') && config.hipaaSmtpPort > 0 && hipaaTls) {
      hipaaSmtp = await startHipaaSubmissionServer(config, hipaaTls, { pipeline, keys: authenticator, credentials: smtpCredentials, log, audit });
      log.info({ address: hipaaSmtp.address, selfSignedCertificate: hipaaTls.selfSigned }, 'Mailroom HIPAA SMTP submission listening (implicit TLS)');
    }
    let url: string | null = null;
    let hipaaUrl: string | null = null;
    if (config.roles.includes('api')) {
      const senders = new SenderRegistry({
        db, pipeline, clock, links: new ConfirmationLinks(ring, config.publicUrl), systemSender: systemSenderOf(config), transport: config.transport, bounceDomain: config.bounceDomain,
        onChange: (accountId) => policy.senderChanged(accountId),
      });
      imports = await ImportRunner.start({ db, clock, log }, config.dataDir);
      const sessions = new SessionStore(db, clock, deriveKey(ring.current.key, 'console-csrf'), config.sessionHours * 3_600_000);
      const httpDeps: HttpDeps = { sessions, db, secrets, pipeline, notifier, metrics, clock, authenticator, smtpCredentials, log, targets, links, reputation, policy, senders, subscriptions, imports, campaigns, domainSettings: domainSettings(config), ipCredentialRules: ipCredentialRules(config), metricsToken: config.metricsToken, publicUrl: config.publicUrl, limits: httpLimits(config), audit, isShuttingDown: () => shuttingDown };
      http = await buildHttpServer(httpDeps);
      url = await http.listen({ host: config.host, port: config.httpPort });
      log.info({ url, transport: config.transport, database: db.kind }, 'Mailroom API listening');
      if (config.hipaaHttpPort > 0) {
        warnHipaaPlainHttp(config, log);
        hipaaHttp = await buildHttpServer({ ...httpDeps, door: 'hipaa', tls: hipaaTls });
        hipaaUrl = await hipaaHttp.listen({ host: config.hipaaHttpHost, port: config.hipaaHttpPort });
        log.info({ url: hipaaUrl }, 'Mailroom HIPAA API listening');
      }
    }

    // Only a process serving the API mints it (its URL is printed with it), and only now that
    // every listener is open: a start that fails before this point leaves no unseen key behind.
    const generatedKey = http && !config.bootstrapApiKey ? await issueFirstKey(db) : null;

    let stopping: Promise<void> | null = null;
    const stop = () =>
      (stopping ??= (async () => {
        shuttingDown = true;
        await Promise.all([http?.close(), hipaaHttp?.close(), smtp?.close(), hipaaSmtp?.close(), mx?.close(), metricsServer?.close()]);
        await campaigns?.stop();
        await writer.drain();
        await audit.drain();
        await Promise.all([imports?.stop(), worker?.stop(config.shutdownSeconds * 1000), webhooks?.stop(config.shutdownSeconds * 1000), monitor?.stop(), rechecker?.stop(), purge?.stop(), reports?.stop(), shredder?.stop(), suppressionCache?.stop()]);
        await identity?.stop();
        await db.close();
      })());
    return { db, http, url, generatedKey, worker, webhooks, smtp: smtp?.addresses ?? null, mx: mx?.address ?? null, reputation: monitor, reports, subscriptions, secrets, metricsUrl: metricsServer?.url ?? null, imports, campaigns, shredder, hipaa: { url: hipaaUrl, smtp: hipaaSmtp?.address ?? null }, stop };
  } catch (error) {
    await http?.close().catch(() => {});
    await hipaaHttp?.close().catch(() => {});
    await smtp?.close().catch(() => {});
    await hipaaSmtp?.close().catch(() => {});
    await mx?.close().catch(() => {});
    await metricsServer?.close().catch(() => {});
    await monitor?.stop().catch(() => {});
    await rechecker?.stop().catch(() => {});
    await purge?.stop().catch(() => {});
    await reports?.stop().catch(() => {});
    await campaigns?.stop().catch(() => {});
    await suppressionCache?.stop().catch(() => {});
    await worker?.stop(0).catch(() => {});
    await webhooks?.stop(0).catch(() => {});
    await identity?.stop().catch(() => {});
    await imports?.stop().catch(() => {});
    await db.close().catch(() => {});
    throw error;
  }
}
