import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import type { Config } from '../config/settings.js';
import type { Logger } from '../shared/log.js';

export interface TlsMaterial {
  key: string;
  cert: string;
  /** True when Mailroom generated the pair itself (clients will not trust it). */
  selfSigned: boolean;
}

const SELF_SIGNED_DAYS = 825;

/**
 * The certificate of the SMTP listeners: the configured PEM files, or else a self-signed pair
 * generated once into the data directory (and reused after), with a warning, so that STARTTLS
 * and implicit TLS work from the first start. A configured pair that does not load, or whose
 * key does not match its certificate, stops start-up with the setting's name.
 */
export async function loadTlsMaterial(config: Pick<Config, 'smtpTlsCert' | 'smtpTlsKey' | 'dataDir' | 'smtpHostname'>, log: Logger): Promise<TlsMaterial> {
  if (config.smtpTlsCert || config.smtpTlsKey) {
    if (!config.smtpTlsCert || !config.smtpTlsKey) {
      throw new Error('mailroom: MAILROOM_SMTP_TLS_CERT and MAILROOM_SMTP_TLS_KEY must be given together');
    }
    return loadPemPair(config.smtpTlsCert, config.smtpTlsKey, 'MAILROOM_SMTP_TLS');
  }
  const certFile = join(config.dataDir, 'smtp-tls.crt');
  const keyFile = join(config.dataDir, 'smtp-tls.key');
  try {
    const material = { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), selfSigned: true };
    log.warn({ cert: certFile }, 'SMTP TLS uses the self-signed certificate in the data directory; set MAILROOM_SMTP_TLS_CERT and MAILROOM_SMTP_TLS_KEY for production');
    return material;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const name = config.smtpHostname || hostname();
  const notAfter = new Date(Date.now() + SELF_SIGNED_DAYS * 24 * 3600 * 1000);
  const generated = await generate([{ name: 'commonName', value: name }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: notAfter,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: name }, { type: 7, ip: '127.0.0.1' }] }],
  });
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(keyFile, generated.private, { mode: 0o600 });
  writeFileSync(certFile, generated.cert);
  log.warn({ cert: certFile, name }, 'SMTP TLS: generated a self-signed certificate into the data directory; set MAILROOM_SMTP_TLS_CERT and MAILROOM_SMTP_TLS_KEY for production');
  return { cert: generated.cert, key: generated.private, selfSigned: true };
}

/** A configured certificate and key (files named by `${prefix}_CERT` and `${prefix}_KEY`), checked to match. */
export function loadPemPair(certFile: string, keyFile: string, prefix: string): TlsMaterial {
  const cert = readSetting(certFile, `${prefix}_CERT`);
  const key = readSetting(keyFile, `${prefix}_KEY`);
  checkPair(cert, key, prefix);
  return { cert, key, selfSigned: false };
}

function readSetting(file: string, variable: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`mailroom: invalid ${variable}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

function checkPair(cert: string, key: string, prefix: string): void {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new Error(`mailroom: invalid ${prefix}_CERT: not a PEM certificate`);
  }
  let matches: boolean;
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(key));
  } catch {
    throw new Error(`mailroom: invalid ${prefix}_KEY: not a PEM private key`);
  }
  if (!matches) throw new Error(`mailroom: invalid ${prefix}_KEY: it is not the key of ${prefix}_CERT`);
}
