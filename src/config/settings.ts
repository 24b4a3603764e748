import * as p from './parsers.js';
import { hostName, ipList } from '../domains/parsers.js';

/**
 * Every setting Mailroom reads, in one table: its config-file key, its environment variable,
 * its parser and its default. The loader walks this table once at boot; nothing else in the
 * code reads process.env for settings.
 */
interface Setting<T> {
  env: string;
  parse: p.Parser<T>;
  default: T;
  help: string;
}

function setting<T>(env: string, parse: p.Parser<T>, defaultValue: T, help: string): Setting<T> {
  return { env, parse, default: defaultValue, help };
}

export const SETTINGS = {
  host: setting('MAILROOM_HOST', p.text, '127.0.0.1', 'address the HTTP API listens on'),
  httpPort: setting('MAILROOM_HTTP_PORT', p.port, 3000, 'HTTP API, tracking and console port'),
  httpRequestTimeoutSeconds: setting('MAILROOM_HTTP_REQUEST_TIMEOUT_SECONDS', p.integer(1, 3600), 60, 'a request body must arrive within this long once it is read (else 408 and the connection is closed)'),
  httpHeadersTimeoutSeconds: setting('MAILROOM_HTTP_HEADERS_TIMEOUT_SECONDS', p.integer(1, 3600), 15, 'request headers must arrive within this long (else 408 and the connection is closed)'),
  largeBodyConcurrency: setting('MAILROOM_LARGE_BODY_CONCURRENCY', p.integer(1, 1000), 4, 'HTTP request bodies over 1 MB (or of unknown length) read at once; more wait their turn'),
  metricsPort: setting('MAILROOM_METRICS_PORT', p.port, 0, 'port of the Prometheus /metrics listener (0 = none)'),
  metricsHost: setting('MAILROOM_METRICS_HOST', p.text, '127.0.0.1', 'address the /metrics listener listens on'),
  metricsToken: setting('MAILROOM_METRICS_TOKEN', p.secretToken(16), '', 'bearer token that opens GET /metrics on the API port; empty = /metrics only on MAILROOM_METRICS_PORT'),
  smtpPort: setting('MAILROOM_SMTP_PORT', p.port, 2587, 'SMTP submission port (STARTTLS)'),
  smtpsPort: setting('MAILROOM_SMTPS_PORT', p.port, 2465, 'SMTP submission port (implicit TLS)'),
  mxHost: setting('MAILROOM_MX_HOST', p.text, '127.0.0.1', 'address the inbound MX listens on (0.0.0.0 to take bounces from the Internet)'),
  mxPort: setting('MAILROOM_MX_PORT', p.port, 2525, 'inbound MX port for bounces and complaints'),
  hipaaHttpPort: setting('MAILROOM_HIPAA_HTTP_PORT', p.port, 0, 'HIPAA API listener, HTTPS (0 = off; docs/HIPAA.md)'),
  hipaaHttpHost: setting('MAILROOM_HIPAA_HTTP_HOST', p.text, '127.0.0.1', 'address the HIPAA API listener listens on'),
  hipaaHttpPlain: setting('MAILROOM_HIPAA_HTTP_PLAIN', p.flag, false, 'serve the HIPAA API over plain HTTP, behind a TLS-terminating proxy: only on a loopback MAILROOM_HIPAA_HTTP_HOST'),
  hipaaSmtpPort: setting('MAILROOM_HIPAA_SMTP_PORT', p.port, 0, 'HIPAA SMTP submission listener, implicit TLS 1.2+ only (0 = off)'),
  hipaaSmtpHost: setting('MAILROOM_HIPAA_SMTP_HOST', p.text, '127.0.0.1', 'address the HIPAA SMTP listener listens on'),
  hipaaTlsCert: setting('MAILROOM_HIPAA_TLS_CERT', p.text, '', 'PEM certificate (chain) of the HIPAA listeners; empty = the SMTP listeners\' certificate'),
  sessionHours: setting('MAILROOM_SESSION_HOURS', p.integer(1, 720), 12, 'how long a console sign-in lasts before the operator signs in again'),
  hipaaRetentionHours: setting('MAILROOM_HIPAA_RETENTION_HOURS', p.integer(0, 8760), 0, 'how long a HIPAA message\'s encrypted content is kept after its final status before it is shredded (0 = at once)'),
  outboundCaFile: setting('MAILROOM_OUTBOUND_CA_FILE', p.text, '', 'PEM certificates trusted beside the system roots when delivery must verify a certificate (HIPAA mail; a relay with verify on)'),
  hipaaTlsKey: setting('MAILROOM_HIPAA_TLS_KEY', p.text, '', 'PEM private key file of MAILROOM_HIPAA_TLS_CERT'),
  databaseUrl: setting('MAILROOM_DATABASE_URL', p.url('postgres', 'postgresql'), '', 'PostgreSQL URL; empty = embedded PGlite'),
  dataDir: setting('MAILROOM_DATA_DIR', p.text, './data', 'data directory (PGlite database, generated keys)'),
  dbPoolSize: setting('MAILROOM_DB_POOL_SIZE', p.integer(1, 200), 10, 'PostgreSQL connections per process'),
  transport: setting('MAILROOM_TRANSPORT', p.oneOf('sandbox', 'mx', 'relay', 'ses'), 'sandbox', 'outbound transport'),
  relayUrl: setting('MAILROOM_RELAY_URL', p.url('smtp', 'smtps'), '', 'smarthost for the relay transport'),
  relayMaxConnections: setting('MAILROOM_RELAY_MAX_CONNECTIONS', p.integer(1, 500), 10, 'pooled relay connections'),
  dnsServers: setting('MAILROOM_DNS_SERVERS', p.hostPortList, [] as string[], 'DNS servers (host:port,...); empty = system'),
  mxDeliveryPort: setting('MAILROOM_MX_DELIVERY_PORT', p.port, 25, 'port used to reach MX hosts'),
  mtaSts: setting('MAILROOM_MTA_STS', p.oneOf('off', 'hipaa', 'all'), 'off', 'honour recipient domains\' MTA-STS policies (RFC 8461) in mx delivery: off, hipaa = for HIPAA mail only, all = for all mail'),
  mtaStsPort: setting('MAILROOM_MTA_STS_PORT', p.port, 443, 'HTTPS port MTA-STS policies are fetched from (443 but in tests)'),
  publicUrl: setting('MAILROOM_PUBLIC_URL', p.url('http', 'https'), 'http://127.0.0.1:3000', 'base URL of tracking links'),
  bootstrapApiKey: setting('MAILROOM_BOOTSTRAP_API_KEY', p.text, '', 'first API key of the default account'),
  encryptionKey: setting('MAILROOM_ENCRYPTION_KEY', p.base64Key32, null as Buffer | null, 'key for encryption at rest (32 bytes, base64)'),
  encryptionKeysPrevious: setting('MAILROOM_ENCRYPTION_KEYS_PREVIOUS', p.base64Key32List, [] as Buffer[], 'former encryption keys (base64, comma-separated) that still open sealed secrets and verify signed links and bounce addresses'),
  smtpInsecureAuth: setting('MAILROOM_SMTP_INSECURE_AUTH', p.flag, false, 'allow SMTP AUTH without TLS'),
  smtpHost: setting('MAILROOM_SMTP_HOST', p.text, '127.0.0.1', 'address the SMTP listeners listen on'),
  smtpHostname: setting('MAILROOM_SMTP_HOSTNAME', p.text, '', 'name in the SMTP greeting and EHLO reply; empty = the host name'),
  smtpTlsCert: setting('MAILROOM_SMTP_TLS_CERT', p.text, '', 'PEM certificate (chain) file for STARTTLS and implicit TLS; empty = self-signed in the data dir'),
  smtpTlsKey: setting('MAILROOM_SMTP_TLS_KEY', p.text, '', 'PEM private key file of MAILROOM_SMTP_TLS_CERT'),
  smtpMaxRecipients: setting('MAILROOM_SMTP_MAX_RECIPIENTS', p.integer(1, 1000), 50, 'recipients per SMTP message'),
  smtpMaxConnectionsPerIp: setting('MAILROOM_SMTP_MAX_CONNECTIONS_PER_IP', p.integer(1, 10000), 20, 'simultaneous SMTP connections from one address'),
  smtpMaxConnections: setting('MAILROOM_SMTP_MAX_CONNECTIONS', p.integer(1, 100000), 1000, 'simultaneous SMTP connections per listener'),
  smtpIdleSeconds: setting('MAILROOM_SMTP_IDLE_SECONDS', p.integer(1, 3600), 300, 'an SMTP client silent this long is disconnected'),
  smtpAuthFailures: setting('MAILROOM_SMTP_AUTH_FAILURES', p.integer(1, 1000), 10, 'failed SMTP logins from one address before it is locked out'),
  smtpLockoutMinutes: setting('MAILROOM_SMTP_LOCKOUT_MINUTES', p.integer(1, 1440), 15, 'how long a locked-out address is refused (and the window its failures count in)'),
  ipCredentials: setting('MAILROOM_IP_CREDENTIALS', p.oneOf('open', 'admin'), 'open', 'who picks the ranges of SMTP IP credentials: open = each account (ranges no other account holds), admin = only inside ranges an installation admin allowed the account (mailroom accounts allow-ip)'),
  ipCredentialMinPrefixV4: setting('MAILROOM_IP_CREDENTIAL_MIN_PREFIX_V4', p.integer(1, 32), 16, 'widest IPv4 range an SMTP IP credential may cover, as a prefix length (16 = /16)'),
  ipCredentialMinPrefixV6: setting('MAILROOM_IP_CREDENTIAL_MIN_PREFIX_V6', p.integer(1, 128), 48, 'widest IPv6 range an SMTP IP credential may cover, as a prefix length (48 = /48)'),
  allowPrivateCallbacks: setting('MAILROOM_ALLOW_PRIVATE_CALLBACKS', p.flag, false, 'allow callbacks to private addresses'),
  webhookRetentionDays: setting('MAILROOM_WEBHOOK_RETENTION_DAYS', p.integer(1, 3650), 30, 'days a finished webhook or callback delivery and its attempts are kept'),
  roles: setting('MAILROOM_ROLES', p.roleList, [...p.ROLES] as p.Role[], 'roles this process runs'),
  logLevel: setting('MAILROOM_LOG_LEVEL', p.oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'), 'info', 'log level'),
  workerConcurrency: setting('MAILROOM_WORKER_CONCURRENCY', p.integer(1, 10000), 100, 'deliveries in flight per worker process'),
  leaseSeconds: setting('MAILROOM_QUEUE_LEASE_SECONDS', p.integer(5, 86400), 60, 'how long a claimed message stays with its worker unless renewed (every third of it); a worker that dies hands its leases back at once on PostgreSQL, so this matters only when a whole host is lost'),
  maxRetryHours: setting('MAILROOM_MAX_RETRY_HOURS', p.integer(1, 720), 72, 'how long a deferred message is retried'),
  heloName: setting('MAILROOM_HELO_NAME', p.text, '', 'name sent in EHLO to MX hosts; empty = the host name'),
  bounceDomain: setting('MAILROOM_BOUNCE_DOMAIN', p.domainName, '', 'domain of VERP Return-Paths; empty = bounces.<sending domain>'),
  sendingIps: setting('MAILROOM_SENDING_IPS', ipList, [] as string[], 'addresses mail leaves from (IPv4/IPv6, comma-separated): domains publish them in SPF and checks evaluate SPF for each; empty = a:<HELO name>'),
  mxHostname: setting('MAILROOM_MX_HOSTNAME', hostName, '', 'host the return-path MX record of a domain points to (the inbound MX); empty = MAILROOM_SMTP_HOSTNAME, else the HELO name'),
  dkimOverlapDays: setting('MAILROOM_DKIM_OVERLAP_DAYS', p.integer(1, 365), 7, 'days a rotated-out DKIM key stays listed (and should stay published) after the new key starts signing'),
  domainRecheckHours: setting('MAILROOM_DOMAIN_RECHECK_HOURS', p.integer(1, 8760), 24, 'how often the DNS records of verified domains are checked again'),
  destinationConcurrency: setting('MAILROOM_DESTINATION_CONCURRENCY', p.integer(1, 1000), 20, 'connections per destination (MX host set)'),
  destinationRate: setting('MAILROOM_DESTINATION_RATE', p.integer(0, 100000), 0, 'messages per second per destination; 0 = no limit'),
  destinationLimits: setting('MAILROOM_DESTINATION_LIMITS', p.destinationLimitRules, [] as p.DestinationLimitRule[], 'per-provider overrides (JSON)'),
  smtpTimeoutSeconds: setting('MAILROOM_SMTP_TIMEOUT_SECONDS', p.integer(1, 3600), 120, 'time-out for connecting to and each reply of a receiving server'),
  reputationWindowDays: setting('MAILROOM_REPUTATION_WINDOW_DAYS', p.integer(1, 90), 7, 'days of outcomes the bounce and complaint rates are computed over'),
  reputationMinVolume: setting('MAILROOM_REPUTATION_MIN_VOLUME', p.integer(1, 10_000_000), 100, 'outcomes in the window before a rate can warn or suspend'),
  bounceRateWarn: setting('MAILROOM_BOUNCE_RATE_WARN', p.fraction(0, 1), 0.04, 'hard-bounce rate that raises a REPUTATION_WARNING event'),
  bounceRateSuspend: setting('MAILROOM_BOUNCE_RATE_SUSPEND', p.fraction(0, 1), 0.05, 'hard-bounce rate that suspends the account'),
  complaintRateWarn: setting('MAILROOM_COMPLAINT_RATE_WARN', p.fraction(0, 1), 0.001, 'complaint rate that raises a REPUTATION_WARNING event'),
  complaintRateSuspend: setting('MAILROOM_COMPLAINT_RATE_SUSPEND', p.fraction(0, 1), 0.005, 'complaint rate that suspends the account'),
  reputationCheckSeconds: setting('MAILROOM_REPUTATION_CHECK_SECONDS', p.integer(1, 3600), 15, 'how often accounts with bounces or complaints are checked against the thresholds'),
  requireVerifiedSender: setting('MAILROOM_REQUIRE_VERIFIED_SENDER', p.oneOf('auto', 'on', 'off'), 'auto', 'refuse a from address that is not a confirmed sender or in a verified domain; auto = with every transport but sandbox'),
  systemSender: setting('MAILROOM_SYSTEM_SENDER', p.text, '', 'From of the mail Mailroom itself sends (sender confirmations); empty = Mailroom <no-reply@host of MAILROOM_PUBLIC_URL>'),
  checkRecipientDomains: setting('MAILROOM_CHECK_RECIPIENT_DOMAINS', p.flag, false, 'refuse recipients whose domain has no MX, A or AAAA record (accounts may override)'),
  rateLimitPerSecond: setting('MAILROOM_RATE_LIMIT_PER_SECOND', p.integer(0, 10_000_000), 0, 'messages an account may send per second unless it has its own limit; 0 = no limit'),
  rateLimitPerDay: setting('MAILROOM_RATE_LIMIT_PER_DAY', p.integer(0, 2_000_000_000), 0, 'messages an account may send per UTC day unless it has its own limit; 0 = no limit'),
  attachmentExtensions: setting('MAILROOM_ATTACHMENT_EXTENSIONS', p.extensionList, ['pdf', 'docx', 'xlsx', 'txt', 'jpg', 'png', 'gif'], 'file name extensions attachments may have (their content is checked too)'),
  subscribePerIpPerMinute: setting('MAILROOM_SUBSCRIBE_PER_IP_PER_MINUTE', p.integer(1, 100_000), 10, 'sign-ups the public subscribe endpoint takes from one client address per minute'),
  subscribePerAddressPerHour: setting('MAILROOM_SUBSCRIBE_PER_ADDRESS_PER_HOUR', p.integer(1, 1000), 3, 'sign-ups (and so confirmation mails) per list and address per hour'),
  unconfirmedPurgeDays: setting('MAILROOM_UNCONFIRMED_PURGE_DAYS', p.integer(1, 3650), 30, 'days after which a double opt-in sign-up nobody confirmed is deleted'),
  shutdownSeconds: setting('MAILROOM_SHUTDOWN_SECONDS', p.integer(1, 3600), 30, 'grace period for in-flight work at shutdown'),
} as const;

export type SettingKey = keyof typeof SETTINGS;
type ValueOf<S> = S extends Setting<infer T> ? T : never;
export type Config = { -readonly [K in SettingKey]: ValueOf<(typeof SETTINGS)[K]> };
