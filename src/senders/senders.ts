import type { Principal } from '../accounts/apiKeys.js';
import type { Database } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { isVerifiedDomain } from '../domains/domains.js';
import { parseMailbox } from '../sending/addresses.js';
import type { SendPipeline } from '../sending/pipeline.js';
import type { Clock } from '../shared/clock.js';
import { ApiError, validationError } from '../shared/errors.js';
import { escapeHtml } from '../tracking/decorate.js';
import { bounceDomainFor } from '../bounces/verp.js';
import { CONFIRMATION_TTL_MS, ConfirmationLinks } from './confirmationLinks.js';

const sql = sqlFile(new URL('./senders.sql', import.meta.url), [
  'upsertSender', 'setConfirmation', 'listSenders', 'getSender', 'deleteSender', 'confirm', 'senderById',
] as const);

/** A resend sooner than this after the last one is refused: each one mails somebody. */
const RESEND_INTERVAL_MS = 60_000;

type VerifiedBy = 'link' | 'domain' | 'sandbox';

interface SenderRow {
  id: number | string;
  email: string;
  verified_at: Date | string | null;
  verified_by: VerifiedBy | null;
  confirmation_sent_at: Date | string | null;
  created_at: Date | string;
}

export interface SenderView {
  id: number;
  email: string;
  /** Whether the address may send now. */
  verified: boolean;
  /**
   * How: `link` (the confirmation was clicked), `domain` (it is in a verified domain of the
   * account) or `sandbox` (a link that was mailed into the sandbox catcher was clicked: that
   * counts only while the sandbox is the transport).
   */
  verifiedBy: VerifiedBy | null;
  verifiedAt: string | null;
  confirmationSentAt: string | null;
  createdAt: string;
  /**
   * Where this sender's bounces go: a VERP address at this domain, read by Mailroom's MX (statuses,
   * suppressions); null when its domain is not verified and MAILROOM_BOUNCE_DOMAIN is unset: the
   * Return-Path is then the address itself, and its bounces reach its mailbox, unprocessed.
   */
  bounceDomain: string | null;
  /** Why an address that was confirmed may not send (a sandbox confirmation under a real transport). */
  reason: string | null;
}

export type ConfirmOutcome = 'confirmed' | 'already' | 'expired' | 'superseded' | 'unknown';

const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());

/**
 * Sender addresses (SPEC section 7): `POST /senders` mails a confirmation link to the address,
 * through the send pipeline like any message (so it is stored, retried, visible in the sandbox),
 * from the installation's system sender; the address may send once the link is clicked. An
 * address in a domain the account verified needs no link.
 */
export class SenderRegistry {
  constructor(
    private readonly deps: {
      db: Database; pipeline: SendPipeline; links: ConfirmationLinks; clock: Clock; systemSender: string;
      /** MAILROOM_TRANSPORT: with `sandbox`, confirmation mail never leaves the machine. */
      transport: string;
      /** MAILROOM_BOUNCE_DOMAIN ('' when unset): where a sender outside the account's verified domains bounces to. */
      bounceDomain: string;
      onChange: (accountId: number) => void;
    },
  ) {}

  /**
   * Whether a confirmation lets the address send: a sandbox one only while the sandbox is the
   * transport. With it, anyone with a key could "confirm" any address from their own catcher;
   * once mail leaves the machine, that proves nothing about who reads the address.
   */
  private counts(row: Pick<SenderRow, 'verified_at' | 'verified_by'>): boolean {
    return row.verified_at !== null && (row.verified_by !== 'sandbox' || this.deps.transport === 'sandbox');
  }

  async add(principal: Principal, input: string, meta: { timestamp: number; transactionId: string }): Promise<SenderView> {
    const parsed = parseMailbox(input);
    if (typeof parsed === 'string') throw validationError([{ field: 'email', message: parsed }], `${input} ${parsed}.`);
    if (parsed.name !== '') throw validationError([{ field: 'email', message: 'must be a bare address, without a display name' }]);
    const email = parsed.address.toLowerCase();
    const now = this.deps.clock.now();
    const inVerifiedDomain = await isVerifiedDomain(this.deps.db, principal.accountId, parsed.domain);
    const [row] = await this.deps.db.query<SenderRow & Record<string, unknown>>(sql.upsertSender, [principal.accountId, email, inVerifiedDomain, now.toISOString()]);
    if (!this.counts(row!) && !inVerifiedDomain) return this.mailConfirmation(principal, row!, meta);
    this.deps.onChange(principal.accountId);
    return this.view(row!, inVerifiedDomain);
  }

  async resend(principal: Principal, id: number, meta: { timestamp: number; transactionId: string }): Promise<SenderView> {
    const row = await this.row(principal.accountId, id);
    if (this.counts(row)) throw new ApiError(409, 'ALREADY_VERIFIED', `${row.email} is verified already.`);
    const last = row.confirmation_sent_at === null ? 0 : new Date(row.confirmation_sent_at).getTime();
    const wait = last + RESEND_INTERVAL_MS - this.deps.clock.now().getTime();
    if (wait > 0) {
      throw new ApiError(429, 'RATE_LIMITED', `A confirmation was mailed to ${row.email} less than a minute ago; try again in ${Math.ceil(wait / 1000)} s.`, [], { 'retry-after': String(Math.ceil(wait / 1000)) });
    }
    return this.mailConfirmation(principal, row, meta);
  }

  async list(accountId: number): Promise<SenderView[]> {
    const rows = await this.deps.db.query<SenderRow & Record<string, unknown>>(sql.listSenders, [accountId]);
    return Promise.all(rows.map((row) => this.current(accountId, row)));
  }

  async get(accountId: number, id: number): Promise<SenderView> {
    return this.current(accountId, await this.row(accountId, id));
  }

  /** An unconfirmed address whose domain has been verified since may send: shown as such. */
  private async current(accountId: number, row: SenderRow): Promise<SenderView> {
    return this.view(row, await isVerifiedDomain(this.deps.db, accountId, domainOf(row.email)));
  }

  private view(row: SenderRow, inVerifiedDomain: boolean): SenderView {
    const shown = { ...view(row), bounceDomain: bounceDomainFor(this.deps.bounceDomain, domainOf(row.email), inVerifiedDomain) };
    if (this.counts(row)) return shown;
    if (inVerifiedDomain) return { ...shown, verified: true, verifiedBy: 'domain' };
    if (row.verified_by !== 'sandbox') return shown;
    return {
      ...shown,
      verified: false,
      reason: `confirmed in sandbox mode, where the confirmation mail never left this machine; that does not count with the ${this.deps.transport} transport: POST /senders/${shown.id}/resend mails a real link`,
    };
  }

  async remove(accountId: number, id: number): Promise<void> {
    if ((await this.deps.db.query(sql.deleteSender, [accountId, id])).length === 0) throw notFound();
    this.deps.onChange(accountId);
  }

  /** Whether a link's token is one this installation signed (checked before showing its page). */
  recognizes(token: string): boolean {
    return this.deps.links.read(token) !== null;
  }

  /** What a clicked link does; never says more than the link's holder may know. */
  async confirm(token: string): Promise<ConfirmOutcome> {
    const read = this.deps.links.read(token);
    if (!read) return 'unknown';
    const now = this.deps.clock.now();
    const [current] = await this.deps.db.query<{ account_id: number | string; verified_at: Date | null; verified_by: VerifiedBy | null; confirmation_nonce: string | null } & Record<string, unknown>>(sql.senderById, [read.senderId]);
    if (!current) return 'unknown';
    if (this.counts(current)) return 'already';
    if (read.expiresAt <= now.getTime()) return 'expired';
    if (current.confirmation_nonce !== read.nonce) return 'superseded';
    const [row] = await this.deps.db.query<{ account_id: number | string } & Record<string, unknown>>(sql.confirm, [read.senderId, read.nonce, now.toISOString()]);
    if (!row) return 'already';
    this.deps.onChange(Number(row.account_id));
    return 'confirmed';
  }

  private async row(accountId: number, id: number): Promise<SenderRow> {
    const [row] = await this.deps.db.query<SenderRow & Record<string, unknown>>(sql.getSender, [accountId, id]);
    if (!row) throw notFound();
    return row;
  }

  private async mailConfirmation(principal: Principal, row: SenderRow, meta: { timestamp: number; transactionId: string }): Promise<SenderView> {
    const now = this.deps.clock.now();
    const nonce = ConfirmationLinks.newNonce();
    const url = this.deps.links.url({ senderId: Number(row.id), nonce, expiresAt: now.getTime() + CONFIRMATION_TTL_MS });
    // The nonce is stored before the mail is queued: a click can never arrive for a nonce the
    // database does not know yet.
    await this.deps.db.query(sql.setConfirmation, [principal.accountId, row.id, nonce, now.toISOString(), null, this.deps.transport]);
    const response = await this.deps.pipeline.send(
      { principal, meta, unsubscribeMsg: null, idempotencyKey: null },
      {
        to: row.email,
        from: this.deps.systemSender,
        subject: 'Confirm your sender address',
        text: `${principal.accountName} asked to send email as ${row.email} through Mailroom.\n\nTo confirm that this is your address, open this link within 24 hours:\n\n${url}\n\nIf you did not ask for this, ignore this message: nothing is sent from your address until it is confirmed.\n`,
        html: `<p>${escapeHtml(principal.accountName)} asked to send email as <b>${escapeHtml(row.email)}</b> through Mailroom.</p><p>To confirm that this is your address, open this link within 24 hours:</p><p><a href="${escapeHtml(url)}" data-mailroom-no-track>Confirm ${escapeHtml(row.email)}</a></p><p>If you did not ask for this, ignore this message: nothing is sent from your address until it is confirmed.</p>`,
        trackOpens: false,
        trackClicks: false,
        tags: ['sender-confirmation'],
      },
      { system: true },
    );
    const messageId = (response.body as { data?: { id?: string } }).data?.id ?? null;
    await this.deps.db.query(sql.setConfirmation, [principal.accountId, row.id, nonce, now.toISOString(), messageId, this.deps.transport]);
    return this.view({ ...row, confirmation_sent_at: now }, false);
  }
}

function domainOf(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1);
}

function view(row: SenderRow): Omit<SenderView, 'bounceDomain'> {
  return {
    id: Number(row.id),
    email: row.email,
    verified: row.verified_at !== null,
    verifiedBy: row.verified_by,
    verifiedAt: iso(row.verified_at),
    confirmationSentAt: iso(row.confirmation_sent_at),
    createdAt: iso(row.created_at)!,
    reason: null,
  };
}

function notFound(): ApiError {
  return new ApiError(404, 'NOT_FOUND', 'No sender with this id.');
}
