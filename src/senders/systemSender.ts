import { hostname } from 'node:os';
import type { Config } from '../config/settings.js';
import { checkAddress, parseMailbox } from '../sending/addresses.js';

/**
 * The From of mail Mailroom sends itself: MAILROOM_SYSTEM_SENDER, or no-reply at the host of the
 * public URL (the name people see in the links), or at this machine's name, or at
 * mailroom.localhost when neither is a domain (an IP address, "localhost").
 */
export function systemSenderOf(config: Pick<Config, 'systemSender' | 'publicUrl'>): string {
  if (config.systemSender) {
    const parsed = parseMailbox(config.systemSender);
    if (typeof parsed === 'string') throw new Error(`MAILROOM_SYSTEM_SENDER ${parsed}: "${config.systemSender}"`);
    return config.systemSender;
  }
  for (const host of [new URL(config.publicUrl).hostname, hostname()]) {
    if (checkAddress(`no-reply@${host}`) === null) return `Mailroom <no-reply@${host.toLowerCase()}>`;
  }
  return 'Mailroom <no-reply@mailroom.localhost>';
}

/** The bare address of systemSenderOf, as messages store their From (lower case). */
export function systemAddressOf(config: Pick<Config, 'systemSender' | 'publicUrl'>): string {
  const parsed = parseMailbox(systemSenderOf(config));
  return typeof parsed === 'string' ? '' : parsed.address.toLowerCase();
}
