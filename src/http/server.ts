import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { KeyAuthenticator } from '../accounts/apiKeys.js';
import type { SmtpCredentialResolver } from '../accounts/smtpCredentials.js';
import type { IpCredentialRules } from '../accounts/ipCredentials.js';
import type { Sealer } from '../crypto/sealed.js';
import type { Database } from '../db/database.js';
import type { QueueNotifier } from '../queue/notifier.js';
import type { SendPipeline } from '../sending/pipeline.js';
import type { Clock } from '../shared/clock.js';
import type { Metrics } from '../shared/metrics.js';
import { ApiError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { authHook } from './auth.js';
import { auditHook, sendAuditOf } from './auditHook.js';
import { hipaaExcluded } from '../hipaa/features.js';
import { auditRoutes } from './routes/audit.js';
import { apiKeyRoutes } from './routes/apiKeys.js';
import { sessionRoutes } from './routes/session.js';
import { consoleRoutes } from './routes/console.js';
import { docsRoutes } from './routes/docs.js';
import { openApiRoute, swaggerOptions } from './openapi.js';
import { adminRoutes } from './routes/admin.js';
import type { SessionStore } from '../sessions/sessions.js';
import type { AuditLog } from '../audit/audit.js';
import { HIPAA_MIN_TLS } from '../hipaa/tls.js';
import type { Door } from '../hipaa/door.js';
import { withholdEchoes } from '../hipaa/withhold.js';
import { errorHandler } from './errors.js';
import { NO_QUERY, validatorCompiler } from './validation.js';
import { notFoundHandler } from './methodNotAllowed.js';
import { answerUnservedRequests, clientErrorHandler, frameworkErrors, refuseMalformedRequests } from './clientErrors.js';
import { guardRequestBodies } from './requestBodies.js';
import { acceptEmptyJsonBodies } from './jsonBodies.js';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from './limits.js';
import { emailRoutes } from './routes/emails.js';
import { infobipRoutes } from './routes/infobip.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { queueRoutes } from './routes/queue.js';
import { sandboxRoutes } from './routes/sandbox.js';
import { smtpCredentialRoutes } from './routes/smtpCredentials.js';
import { accountRoutes } from './routes/account.js';
import { webhookRoutes } from './routes/webhooks.js';
import type { TargetResolver } from '../webhooks/ssrf.js';
import type { TrackingLinks } from '../tracking/links.js';
import { trackingRoutes } from './routes/tracking.js';
import { eventRoutes } from './routes/events.js';
import { suppressionRoutes } from './routes/suppressions.js';
import { domainRoutes, type DomainSettings } from './routes/domains.js';
import { senderConfirmationRoutes, senderRoutes } from './routes/senders.js';
import type { SendingPolicy } from '../sending/policy/policy.js';
import type { Subscriptions } from '../subscriptions/subscriptions.js';
import { subscribeRoutes } from './routes/subscribe.js';
import type { SenderRegistry } from '../senders/senders.js';
import { templateRoutes } from './routes/templates.js';
import { listRoutes } from './routes/lists.js';
import { contactRoutes } from './routes/contacts.js';
import { listImportRoutes } from './routes/listImports.js';
import type { ImportRunner } from '../lists/importRunner.js';
import { reportRoutes } from './routes/reports.js';
import { campaignRoutes } from './routes/campaigns.js';
import type { ReputationPolicy } from '../reputation/reputation.js';

export interface HttpDeps {
  db: Database;
  /** Seals and opens the stored secrets (callback and webhook secrets, DKIM keys). */
  secrets: Sealer;
  pipeline: SendPipeline;
  authenticator: KeyAuthenticator;
  smtpCredentials: SmtpCredentialResolver;
  notifier: QueueNotifier;
  metrics: Metrics;
  clock: Clock;
  log: Logger;
  /** Checks webhook URLs (SSRF). */
  targets: TargetResolver;
  /** Signs and checks tracking and unsubscribe URLs. */
  links: TrackingLinks;
  /** Thresholds and window of GET /account/reputation. */
  reputation: ReputationPolicy;
  /** The policy step's per-account settings (PATCH /account). */
  policy: SendingPolicy;
  senders: SenderRegistry;
  subscriptions: Subscriptions;
  /** Runs the CSV imports into lists that this process accepts. */
  imports: ImportRunner;
  /** This process's campaign feeder, when it has the worker role (a started campaign is fed at once). */
  campaigns?: { poke(): void } | null;
  /** Inputs of the DNS records domains publish, and the DNS servers their checks ask (defaults when absent). */
  domainSettings?: DomainSettings;
  /** Who may add which SMTP IP credentials (defaults when absent). */
  ipCredentialRules?: IpCredentialRules;
  /** MAILROOM_METRICS_TOKEN: opens GET /metrics on this port to that bearer token; empty or absent = 404. */
  metricsToken?: string;
  /** Time-outs and the large-body turns (defaults when absent). */
  limits?: HttpLimits;
  isShuttingDown: () => boolean;
  /**
   * The HIPAA listener (docs/HIPAA.md): HIPAA accounts only, over HTTPS (`tls`, TLS 1.2+) unless
   * plain HTTP was allowed on loopback; no public routes (tracking, sign-ups and confirmations
   * stay on the standard listener, which MAILROOM_PUBLIC_URL names) and no /metrics.
   */
  door?: Door;
  /** The audit log of HIPAA accounts (absent: nothing is audited, as in tests of other parts). */
  audit?: AuditLog | null;
  /** Console sign-ins (absent: the API takes keys only). Never on the HIPAA door. */
  sessions?: SessionStore | null;
  tls?: { key: string; cert: string } | null;
  /** MAILROOM_PUBLIC_URL: the first of the OpenAPI document's servers (standard listener). */
  publicUrl?: string | null;
}

/** Room for a 10 MB message whose attachments are base64 (4/3 larger) plus the JSON around it. */
const BODY_LIMIT = 16 * 1024 * 1024;

export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const limits = deps.limits ?? DEFAULT_HTTP_LIMITS;
  const door = deps.door ?? 'standard';
  const app = Fastify({
    ...(deps.tls ? { https: { key: deps.tls.key, cert: deps.tls.cert, minVersion: HIPAA_MIN_TLS } } : {}),
    loggerInstance: deps.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    genReqId: () => randomUUID(),
    // Our own 503 (below): Fastify's has another shape than SPEC section 11's.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Node times out the headers (and checks every second, not every 30 s); the body's time-out
    // starts when Mailroom reads it (requestBodies.ts), so a request waiting its turn never fails.
    http: { headersTimeout: limits.headersTimeoutMs, requestTimeout: 0, connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs), requireHostHeader: false },
    requestTimeout: 0,
    clientErrorHandler: clientErrorHandler(deps.log),
    frameworkErrors,
  });
  app.removeContentTypeParser('text/plain');
  acceptEmptyJsonBodies(app);
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler(app));
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async () => {
    if (deps.isShuttingDown()) {
      throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'Mailroom is shutting down; nothing was stored. Retry shortly (another instance, or this one once restarted).', [], { 'retry-after': '5', connection: 'close' });
    }
  });
  app.addHook('onRequest', refuseMalformedRequests);
  if (door === 'hipaa') app.addHook('onSend', withholdEchoes);
  answerUnservedRequests(app.server);
  guardRequestBodies(app, limits);

  await app.register(swagger, swaggerOptions());

  healthRoutes(app, deps);
  openApiRoute(app, door === 'standard' ? deps.publicUrl ?? null : null);
  if (door === 'standard') {
    metricsRoutes(app, deps);
    // Opened from mail by anyone holding a signed URL: no API key (the signature is the credential).
    await app.register(async (open) => trackingRoutes(open, deps));
    await app.register(async (open) => senderConfirmationRoutes(open, deps));
    await app.register(async (open) => subscribeRoutes(open, deps));
    const sessions = deps.sessions;
    if (sessions) {
      await app.register(async (open) => sessionRoutes(open, { ...deps, sessions }));
      await app.register(async (open) => adminRoutes(open, { ...deps, sessions }));
      // The web console signs in with sessions: served where they are.
      await app.register(consoleRoutes);
    }
    // The API reference page (Scalar, served from Mailroom itself) over GET /openapi.json.
    await app.register(docsRoutes);
  }

  await app.register(async (api) => {
    // A route of the API that declares no query string takes none: an unknown parameter is a 400
    // here as on the routes that declare theirs (validation.ts). The public routes above (links
    // opened from mail, the console's page) take whatever a browser or a mail client appends.
    api.addHook('onRoute', (route) => {
      if (!route.schema?.querystring) route.schema = { ...route.schema, querystring: NO_QUERY };
    });
    api.addHook('onRequest', authHook(deps.authenticator, door, door === 'standard' ? deps.sessions ?? null : null));
    if (deps.audit) api.addHook('onSend', auditHook(deps.audit, deps.log));
    emailRoutes(api, { ...deps, sendAudit: deps.audit ? sendAuditOf : null });
    // Infobip's email API (docs/INFOBIP.md): its own scope, the only one that parses multipart.
    await api.register(async (scope) => infobipRoutes(scope, deps));
    await api.register(async (scope) => {
      scope.addHook('onRequest', hipaaExcluded('The sandbox catcher', 'it would keep and show message content'));
      sandboxRoutes(scope, deps);
    });
    queueRoutes(api, deps);
    smtpCredentialRoutes(api, deps);
    apiKeyRoutes(api, deps);
    accountRoutes(api, deps);
    webhookRoutes(api, deps);
    eventRoutes(api, deps);
    suppressionRoutes(api, deps);
    domainRoutes(api, deps);
    senderRoutes(api, deps);
    templateRoutes(api, deps);
    await api.register(async (scope) => {
      scope.addHook('onRequest', hipaaExcluded('Lists, contacts and campaigns', 'they keep recipients and their data outside messages, and mail them in bulk'));
      listRoutes(scope, deps);
      contactRoutes(scope, deps);
      listImportRoutes(scope, deps);
      campaignRoutes(scope, { ...deps, onStarted: () => deps.campaigns?.poke() });
    });
    reportRoutes(api, deps);
    auditRoutes(api, deps);
  });
  return app;
}

export { operationIdOf } from './openapi.js';
