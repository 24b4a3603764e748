import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './settings.js';
import { KeyRing } from '../crypto/keyring.js';

/**
 * The installation's master key (MAILROOM_ENCRYPTION_KEY). When none is configured, one is
 * generated into the data directory on first start and read back afterwards, so that a single
 * node keeps working across restarts. Several processes sharing one PostgreSQL must be given the
 * same key explicitly: VERP tokens signed by one are checked by another.
 */
export function loadEncryptionKey(config: Pick<Config, 'encryptionKey' | 'dataDir'>): Buffer {
  if (config.encryptionKey) return config.encryptionKey;
  const file = join(config.dataDir, 'encryption.key');
  try {
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length === 32) return key;
    throw new Error(`${file}: expected 32 bytes in base64`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(config.dataDir, { recursive: true });
  const key = randomBytes(32);
  // 'wx' fails if another process created the file meanwhile; then its key wins.
  try {
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  }
}

/** The key ring: the master key above (current) and MAILROOM_ENCRYPTION_KEYS_PREVIOUS. */
export function loadKeyRing(config: Pick<Config, 'encryptionKey' | 'encryptionKeysPrevious' | 'dataDir'>): KeyRing {
  return new KeyRing(loadEncryptionKey(config), config.encryptionKeysPrevious);
}
