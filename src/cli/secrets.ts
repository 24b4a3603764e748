import { loadConfig } from '../config/load.js';
import { loadKeyRing } from '../config/secrets.js';
import { Sealer } from '../crypto/sealed.js';
import { migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open.js';
import { SECRET_KINDS } from '../secrets/contexts.js';
import { rotateSecrets } from '../secrets/reseal.js';
import { sealedStatus } from '../secrets/status.js';
import type { CliOptions } from './main.js';

const USAGE = 'usage: mailroom secrets rotate | status';

/**
 * `mailroom secrets rotate`: re-seals every stored secret with the current key
 * (MAILROOM_ENCRYPTION_KEY), opening it with whichever key of the ring sealed it, so that a
 * previous key can leave MAILROOM_ENCRYPTION_KEYS_PREVIOUS. `status`: how many values of each
 * kind each key id holds. Like the other admin commands, it needs the embedded database to
 * itself (stop the server first); on PostgreSQL it runs beside it.
 */
export async function secretsCommand(args: string[], options: CliOptions): Promise<number> {
  const [action] = args;
  if (action !== 'rotate' && action !== 'status') {
    console.error(`mailroom: ${action ? `unknown action "secrets ${action}"; ` : ''}${USAGE}`);
    return 2;
  }
  const config = loadConfig({ configFile: options.config });
  const ring = loadKeyRing(config);
  const db = await openDatabase(config);
  try {
    await migrate(db);
    if (action === 'status') {
      console.log(`key ring: current ${ring.current.id}${ring.previous.length > 0 ? `, previous ${ring.previous.map((key) => key.id).join(', ')}` : ''}`);
      for (const row of await sealedStatus(db, ring)) console.log(`${row.kind}\t${row.keyId}${row.key === 'clear' ? '' : ` (${row.key})`}\t${row.count}`);
      return 0;
    }
    const report = await rotateSecrets(db, new Sealer(ring));
    for (const kind of SECRET_KINDS) {
      const { reencrypted, sealed } = report.counts[kind];
      console.log(`${kind}: ${reencrypted} re-encrypted${sealed > 0 ? `, ${sealed} sealed from clear` : ''}`);
    }
    if (report.failures.length > 0) {
      console.error(`mailroom: ${report.failures.length} value(s) could not be opened and keep their old sealing:`);
      for (const failure of report.failures) console.error(`  ${failure.column} id ${failure.id}: ${failure.message}`);
      return 1;
    }
    console.log(`every stored secret is sealed with key ${ring.current.id}; previous keys are no longer needed to open them ` +
      '(keep them listed while links and bounce addresses they signed should still work)');
    return 0;
  } finally {
    await db.close();
  }
}
