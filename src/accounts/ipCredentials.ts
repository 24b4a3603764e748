import type { Config } from '../config/settings.js';
import { SETTINGS } from '../config/settings.js';
import type { Database, Queryable } from '../db/database.js';
import { sqlFile } from '../db/sql.js';
import { ApiError, validationError } from '../shared/errors.js';
import { parseRange, type IpRange } from './ipRanges.js';
import { createIpCredential, type SmtpCredential } from './smtpCredentials.js';

const sql = sqlFile(new URL('./ipCredentials.sql', import.meta.url), ['lockIpSpace', 'takenByAnotherAccount', 'insideAllowance'] as const);

/**
 * An address may submit without AUTH for one account only: the SMTP listener cannot tell two
 * accounts' mail from one address apart, so the later one would get the earlier one's (issue 15).
 */
export interface IpCredentialRules {
  /** open: an account adds any range no other account holds; admin: only inside its allowances. */
  mode: 'open' | 'admin';
  /** The widest ranges an IP credential may cover, as prefix lengths. */
  minPrefixV4: number;
  minPrefixV6: number;
}

type IpCredentialConfig = Pick<Config, 'ipCredentials' | 'ipCredentialMinPrefixV4' | 'ipCredentialMinPrefixV6'>;

export function ipCredentialRules(config: IpCredentialConfig): IpCredentialRules {
  return { mode: config.ipCredentials, minPrefixV4: config.ipCredentialMinPrefixV4, minPrefixV6: config.ipCredentialMinPrefixV6 };
}

export const defaultIpCredentialRules = (): IpCredentialRules =>
  ipCredentialRules({
    ipCredentials: SETTINGS.ipCredentials.default,
    ipCredentialMinPrefixV4: SETTINGS.ipCredentialMinPrefixV4.default,
    ipCredentialMinPrefixV6: SETTINGS.ipCredentialMinPrefixV6.default,
  });

/** Any constant other than migrate.ts's: the key of the advisory lock on address space. */
const IP_SPACE_LOCK = 0x6d726970;

/** Serialises, until the transaction ends, every change that claims address space. */
export async function lockIpSpace(tx: Queryable): Promise<void> {
  await tx.query(sql.lockIpSpace, [IP_SPACE_LOCK]);
}

function checkWidth(range: IpRange, rules: IpCredentialRules): void {
  const [limit, setting] = range.family === 4 ? [rules.minPrefixV4, SETTINGS.ipCredentialMinPrefixV4.env] : [rules.minPrefixV6, SETTINGS.ipCredentialMinPrefixV6.env];
  // /0 is every address: refused whatever the settings say (they start at 1).
  if (range.bits >= Math.max(1, limit)) return;
  const message = `${range.text} is wider than /${limit}, the widest IPv${range.family} range an IP credential may cover (${setting}).`;
  throw new ApiError(422, 'IP_RANGE_TOO_WIDE', message, [{ field: 'address', message: `must be /${limit} or narrower` }]);
}

/**
 * Adds an IP credential unless its range overlaps (equals, contains or is inside) a live IP
 * credential or an allowance of another account. The check and the insert run under one lock,
 * so that of two accounts adding overlapping ranges at once, on any processes, exactly one wins.
 * The refusal says nothing of the other account or its range.
 */
export async function addIpCredential(
  db: Database,
  rules: IpCredentialRules,
  owner: { accountId: number; operatorId: number },
  name: string,
  address: string,
): Promise<SmtpCredential> {
  const range = parseRange(address);
  if (!range) throw validationError([{ field: 'address', message: 'must be an IPv4 or IPv6 address or CIDR range' }]);
  checkWidth(range, rules);
  return db.transaction(async (tx) => {
    await lockIpSpace(tx);
    if (rules.mode === 'admin') {
      const [inside] = await tx.query<{ allowed: boolean }>(sql.insideAllowance, [owner.accountId, range.text]);
      if (!inside?.allowed) {
        throw new ApiError(
          403,
          'IP_RANGE_NOT_ALLOWED',
          `With MAILROOM_IP_CREDENTIALS=admin an account adds IP credentials only inside the ranges an installation admin allowed it (mailroom accounts allow-ip); ${range.text} is not inside one.`,
          [{ field: 'address', message: 'is outside the address ranges allowed for this account' }],
        );
      }
    }
    const [taken] = await tx.query<{ taken: boolean }>(sql.takenByAnotherAccount, [owner.accountId, range.text]);
    if (taken?.taken) {
      throw new ApiError(409, 'IP_RANGE_TAKEN', `${range.text} overlaps addresses that belong to another account; an address submits without AUTH for one account only.`, [
        { field: 'address', message: 'overlaps addresses that belong to another account' },
      ]);
    }
    return createIpCredential(tx, owner.accountId, owner.operatorId, name, range.text);
  });
}
