import { hostname } from 'node:os';
import { SETTINGS, type Config } from '../config/settings.js';

/** What the records a domain publishes, and their checks, depend on in the installation's configuration. */
export interface DomainSettings {
  /** MAILROOM_DNS_SERVERS: every check asks these (empty: the system's). */
  dnsServers: readonly string[];
  /** MAILROOM_SENDING_IPS: listed in SPF as ip4:/ip6:, and SPF is evaluated for each. */
  sendingIps: readonly string[];
  /** The name the MTA says in EHLO; SPF is `a:<heloName>` when no sending IPs are set. */
  heloName: string;
  /** Where the return-path MX record points: the inbound MX. */
  mxHostname: string;
  /** MAILROOM_BOUNCE_DOMAIN: when set, Return-Paths are at that (the installation's) domain. */
  bounceDomain: string;
  /** MAILROOM_PUBLIC_URL: the tracking CNAME points at its host. */
  publicUrl: string;
  dkimOverlapDays: number;
  recheckHours: number;
  /** Per DNS query and try; tests shorten it. */
  dnsTimeoutMs: number;
  dnsTries: number;
}

type DomainConfig = Pick<Config, 'dnsServers' | 'sendingIps' | 'heloName' | 'mxHostname' | 'smtpHostname' | 'bounceDomain' | 'publicUrl' | 'dkimOverlapDays' | 'domainRecheckHours'>;

export function domainSettings(config: DomainConfig): DomainSettings {
  const heloName = (config.heloName || hostname()).toLowerCase();
  return {
    dnsServers: config.dnsServers,
    sendingIps: config.sendingIps,
    heloName,
    // The MX answers under the name it greets with (MAILROOM_SMTP_HOSTNAME); the HELO name is
    // the host's other public name.
    mxHostname: (config.mxHostname || config.smtpHostname || heloName).toLowerCase(),
    bounceDomain: config.bounceDomain,
    publicUrl: config.publicUrl,
    dkimOverlapDays: config.dkimOverlapDays,
    recheckHours: config.domainRecheckHours,
    dnsTimeoutMs: 5_000,
    dnsTries: 2,
  };
}

/** The settings of an installation that sets none of them (an HTTP server built without them). */
export function defaultDomainSettings(): DomainSettings {
  return domainSettings({
    dnsServers: SETTINGS.dnsServers.default,
    sendingIps: SETTINGS.sendingIps.default,
    heloName: SETTINGS.heloName.default,
    mxHostname: SETTINGS.mxHostname.default,
    smtpHostname: SETTINGS.smtpHostname.default,
    bounceDomain: SETTINGS.bounceDomain.default,
    publicUrl: SETTINGS.publicUrl.default,
    dkimOverlapDays: SETTINGS.dkimOverlapDays.default,
    domainRecheckHours: SETTINGS.domainRecheckHours.default,
  });
}

/**
 * A name the Internet can resolve has a dot and is not under a name reserved for private
 * networks: a container's host name ("3f2a9c1b") or "mail.local" published in an MX or an SPF
 * `a:` mechanism would make the record useless.
 */
export function isFullyQualified(name: string): boolean {
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+\.?$/i.test(name) && !/\.(local|localdomain|localhost|internal|lan|home|arpa)\.?$/i.test(name);
}

/** The configured names a domain's records publish that are not fully qualified: each with the settings that set it. */
export function unqualifiedNames(settings: Pick<DomainSettings, 'heloName' | 'mxHostname' | 'sendingIps' | 'bounceDomain'>): { record: 'spf' | 'return-path'; message: string }[] {
  const problems: { record: 'spf' | 'return-path'; message: string }[] = [];
  if (settings.sendingIps.length === 0 && !isFullyQualified(settings.heloName)) {
    problems.push({ record: 'spf', message: `"${settings.heloName}" (MAILROOM_HELO_NAME, else this machine's host name) is not a fully qualified host name, so this SPF record matches no address: set MAILROOM_HELO_NAME to the sending host's public name, or MAILROOM_SENDING_IPS` });
  }
  if (!settings.bounceDomain && !isFullyQualified(settings.mxHostname)) {
    problems.push({ record: 'return-path', message: `"${settings.mxHostname}" (MAILROOM_MX_HOSTNAME, else MAILROOM_SMTP_HOSTNAME, else the HELO name) is not a fully qualified host name, so this MX leads nowhere: set MAILROOM_MX_HOSTNAME to the inbound MX's public name` });
  }
  return problems;
}
