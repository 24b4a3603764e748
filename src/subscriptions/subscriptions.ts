import type { Principal } from '../accounts/apiKeys.js';
import type { Database } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { bareAddressProblem } from '../sending/addresses.js';
import type { SendPipeline } from '../sending/pipeline.js';
import type { Clock } from '../shared/clock.js';
import { ApiError, validationError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { newTransactionId } from '../shared/ids.js';
import { normalizeAddress } from '../suppression/suppressions.js';
import { hasControlCharacters } from '../shared/characters.js';
import { SUBSCRIBE_CONFIRMATION_TTL_MS, SubscribeLinks } from './links.js';
import { confirmationMail } from './mail.js';
import { Throttle } from './throttle.js';

const sql = sqlFile(new URL('./subscriptions.sql', import.meta.url), [
  'listByToken', 'signUpContact', 'lockMembership', 'insertMember', 'setConfirmation', 'confirm', 'membershipByNonce', 'purgeUnconfirmed', 'deleteOrphans',
] as const);

export const NAME_MAX = 200;

export interface SignUp {
  email: string;
  name: string | null;
  /** The client's address, for the per-IP limit. */
  ip: string;
}

/**
 * What a sign-up answers. Deliberately the same whether the address was new, already subscribed
 * or unconfirmed: the public endpoint must not tell a stranger who is on a list.
 */
export interface SignUpAnswer {
  listName: string;
  optIn: 'single' | 'double';
}

export type ConfirmOutcome = 'confirmed' | 'already' | 'expired' | 'stale' | 'unknown';

export interface SubscriptionLimits {
  perIpPerMinute: number;
  perAddressPerHour: number;
  unconfirmedPurgeDays: number;
}

interface ListRow extends Record<string, unknown> {
  id: string;
  seq: number | string;
  account_id: number | string;
  name: string;
  opt_in: 'single' | 'double';
  from_address: string | null;
  from_name: string | null;
  account_name: string;
  account_status: 'active' | 'suspended';
  account_hipaa: boolean;
  operator_id: number | string | null;
}

/**
 * Sign-ups to a list from its public form (POST /subscribe/{listToken}) and the double opt-in
 * that follows (SPEC section 9, docs/CAMPAIGNS.md). The rules that keep a public form from being
 * turned against the people on the list:
 * - a subscribed member stays subscribed whatever is posted (nobody unsubscribes another person
 *   by signing them up again), and a stranger's post never changes a contact's name;
 * - on a double opt-in list, and on any list for a member who unsubscribed before, the member is
 *   subscribed only by the link mailed to the address, and only by a POST from the page that
 *   link opens: link scanners open every URL in a message, and a GET confirms nothing;
 * - a link works for 7 days, only while it is the newest mailed to the member, and never after
 *   a later unsubscribe; confirming twice is harmless;
 * - each IP and each (list, address) is throttled, and the answer is the same whoever the
 *   address belongs to.
 */
export class Subscriptions {
  private readonly perIp: Throttle;
  private readonly perAddress: Throttle;

  constructor(
    private readonly deps: { db: Database; pipeline: SendPipeline; links: SubscribeLinks; clock: Clock; log: Logger; limits: SubscriptionLimits; systemSender: string },
  ) {
    this.perIp = new Throttle({ limit: deps.limits.perIpPerMinute, windowMs: 60_000 });
    this.perAddress = new Throttle({ limit: deps.limits.perAddressPerHour, windowMs: 3_600_000 });
  }

  async signUp(listToken: string, input: SignUp): Promise<SignUpAnswer> {
    const list = await this.list(listToken);
    const now = this.deps.clock.now();
    const wait = this.perIp.take(input.ip, now.getTime());
    if (wait > 0) throw throttled(wait);
    const problem = bareAddressProblem(input.email);
    if (problem) throw validationError([{ field: 'email', message: problem }], `The address ${problem}.`);
    const name = input.name?.trim() || null;
    if (name !== null && (name.length > NAME_MAX || hasControlCharacters(name))) {
      throw validationError([{ field: 'name', message: `must be at most ${NAME_MAX} characters, on one line` }]);
    }
    const email = normalizeAddress(input.email);
    const addressWait = this.perAddress.take(`${list.seq}\n${email}`, now.getTime());
    if (addressWait > 0) throw throttled(addressWait);

    const double = list.opt_in === 'double';
    const nonce = SubscribeLinks.newNonce();
    const mail = await this.deps.db.transaction(async (tx) => {
      const [contact] = await tx.query<{ id: number | string }>(sql.signUpContact, [list.account_id, email, name, now.toISOString()]);
      const contactId = Number(contact!.id);
      const [member] = await tx.query<{ status: string }>(sql.lockMembership, [list.seq, contactId]);
      if (!member) {
        await tx.query(sql.insertMember, [list.seq, contactId, double ? 'unconfirmed' : 'subscribed', now.toISOString(), double ? nonce : null]);
        return double ? contactId : null;
      }
      if (member.status === 'subscribed') return null;
      // Unconfirmed (a second request for the link), or unsubscribed and signing up again: both
      // confirm by mail, on a single opt-in list too, so that nobody re-subscribes a person who left.
      await tx.query(sql.setConfirmation, [list.seq, contactId, nonce, now.toISOString()]);
      return contactId;
    });
    if (mail !== null) await this.mailConfirmation(list, email, mail, nonce, now);
    return { listName: list.name, optIn: list.opt_in };
  }

  /** The answer a sign-up would get, without signing anyone up (the honeypot was filled in). */
  async describe(listToken: string): Promise<SignUpAnswer> {
    const list = await this.list(listToken);
    return { listName: list.name, optIn: list.opt_in };
  }

  /** Whether a link's signature is right, so that its page may show the button. */
  recognizes(token: string): boolean {
    return this.deps.links.read(token) !== null;
  }

  async confirm(token: string): Promise<ConfirmOutcome> {
    const link = this.deps.links.read(token);
    if (!link) return 'unknown';
    const now = this.deps.clock.now();
    if (link.expiresAt <= now.getTime()) return 'expired';
    const changed = await this.deps.db.query(sql.confirm, [link.listSeq, link.contactId, link.nonce, now.toISOString()]);
    if (changed.length > 0) return 'confirmed';
    const [member] = await this.deps.db.query<{ status: string }>(sql.membershipByNonce, [link.listSeq, link.contactId, link.nonce]);
    return member?.status === 'subscribed' ? 'already' : 'stale';
  }

  /** Deletes sign-ups nobody confirmed within the configured days, and contacts left on no list. */
  async purgeUnconfirmed(): Promise<number> {
    const cutoff = new Date(this.deps.clock.now().getTime() - this.deps.limits.unconfirmedPurgeDays * 86_400_000).toISOString();
    let purged = 0;
    for (;;) {
      const count = await this.deps.db.transaction(async (tx) => {
        const rows = await tx.query<{ contact_id: number | string }>(sql.purgeUnconfirmed, [cutoff, 1000]);
        if (rows.length > 0) await tx.query(sql.deleteOrphans, [rows.map((row) => String(row.contact_id))]);
        return rows.length;
      });
      purged += count;
      if (count < 1000) return purged;
    }
  }

  private async list(token: string): Promise<ListRow> {
    const [list] = /^[A-Za-z0-9_-]{1,100}$/.test(token) ? await this.deps.db.query<ListRow>(sql.listByToken, [token]) : [];
    if (!list) throw new ApiError(404, 'NOT_FOUND', 'No list has this subscribe address.');
    return list;
  }

  /**
   * The confirmation goes through the one send pipeline as a transactional message from the
   * list's sender, so it is stored, retried, signed and visible like any other. When the
   * pipeline refuses it (the address suppressed, the list's sender not verified, the account
   * suspended) the sign-up still answers as usual, and the refusal is logged for the operator:
   * the person filling in a form can do nothing about it, and must not learn why.
   */
  private async mailConfirmation(list: ListRow, email: string, contactId: number, nonce: string, now: Date): Promise<void> {
    if (list.operator_id === null) return;
    const url = this.deps.links.url({ listSeq: Number(list.seq), contactId, nonce, expiresAt: now.getTime() + SUBSCRIBE_CONFIRMATION_TTL_MS });
    const principal: Principal = {
      keyId: null, accountId: Number(list.account_id), accountName: list.account_name, accountStatus: list.account_status, accountHipaa: list.account_hipaa, scopes: null,
      operatorId: Number(list.operator_id), operatorName: '',
    };
    try {
      await this.deps.pipeline.send(
        { principal, meta: { timestamp: now.getTime(), transactionId: newTransactionId() }, unsubscribeMsg: null, idempotencyKey: null },
        confirmationMail({ to: email, listName: list.name, from: senderOf(list, this.deps.systemSender), url }),
        { system: true },
      );
    } catch (error) {
      const code = error instanceof ApiError ? error.code : 'INTERNAL_ERROR';
      this.deps.log.warn({ listId: list.id, accountId: Number(list.account_id), code }, 'a list sign-up\'s confirmation mail was refused');
      if (!(error instanceof ApiError)) throw error;
    }
  }
}

/** The list's sender, or Mailroom's own when the list names none. */
function senderOf(list: ListRow, systemSender: string): string {
  if (!list.from_address) return systemSender;
  return list.from_name ? `${JSON.stringify(list.from_name)} <${list.from_address}>` : list.from_address;
}

function throttled(seconds: number): ApiError {
  return new ApiError(429, 'RATE_LIMITED', `Too many sign-ups; try again in ${seconds} s.`, [], { 'retry-after': String(seconds) });
}
