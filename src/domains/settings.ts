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
