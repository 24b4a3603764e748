import { loadKeyRing } from '../config/secrets.js';
import { SECRET_KINDS } from '../secrets/contexts.js';
import { rotateSecrets } from '../secrets/reseal.js';
import { sealedStatus } from '../secrets/status.js';
import { UsageError, type AdminHandler } from './adminContext.js';

const USAGE = 'usage: mailroom secrets rotate | status';

/**
 * `mailroom secrets rotate`: re-seals every stored secret with the current key
 * (MAILROOM_ENCRYPTION_KEY), opening it with whichever key of the ring sealed it, so that a
 * previous key can leave MAILROOM_ENCRYPTION_KEYS_PREVIOUS. `status`: how many values of each
 * kind each key id holds. While an embedded-database server runs, it runs inside that server
 * (over its admin socket), with the server's key ring; on PostgreSQL it runs beside it.
 */
export const secretsCommand: AdminHandler = async (args, _options, { db, config, secrets, out }) => {
  const [action] = args;
  if (action !== 'rotate' && action !== 'status') throw new UsageError(`${action ? `unknown action "secrets ${action}"; ` : ''}${USAGE}`);
  const ring = loadKeyRing(config);
  if (action === 'status') {
    out.out(`key ring: current ${ring.current.id}${ring.previous.length > 0 ? `, previous ${ring.previous.map((key) => key.id).join(', ')}` : ''}`);
    for (const row of await sealedStatus(db, ring)) out.out(`${row.kind}\t${row.keyId}${row.key === 'clear' ? '' : ` (${row.key})`}\t${row.count}`);
    return 0;
  }
  const report = await rotateSecrets(db, secrets);
  for (const kind of SECRET_KINDS) {
    const { reencrypted, sealed } = report.counts[kind];
    out.out(`${kind}: ${reencrypted} re-encrypted${sealed > 0 ? `, ${sealed} sealed from clear` : ''}`);
  }
  if (report.failures.length > 0) {
    out.err(`mailroom: ${report.failures.length} value(s) could not be opened and keep their old sealing:`);
    for (const failure of report.failures) out.err(`  ${failure.column} id ${failure.id}: ${failure.message}`);
    return 1;
  }
  out.out(`every stored secret is sealed with key ${ring.current.id}; previous keys are no longer needed to open them ` +
    '(keep them listed while links and bounce addresses they signed should still work)');
  return 0;
};
