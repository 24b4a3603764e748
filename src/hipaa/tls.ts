import type { Config } from '../config/settings.js';
import type { Logger } from '../shared/log.js';
import { loadPemPair, loadTlsMaterial, type TlsMaterial } from '../smtp/tls.js';

/** TLS 1.2 or newer on every HIPAA listener (HIPAA's transmission security; NIST SP 800-52r2). */
export const HIPAA_MIN_TLS = 'TLSv1.2';

/** The HIPAA listeners' certificate: their own pair when configured, else the SMTP listeners'. */
export async function loadHipaaTls(config: Config, log: Logger): Promise<TlsMaterial> {
  if (config.hipaaTlsCert || config.hipaaTlsKey) {
    if (!config.hipaaTlsCert || !config.hipaaTlsKey) throw new Error('mailroom: MAILROOM_HIPAA_TLS_CERT and MAILROOM_HIPAA_TLS_KEY must be given together');
    return loadPemPair(config.hipaaTlsCert, config.hipaaTlsKey, 'MAILROOM_HIPAA_TLS');
  }
  return loadTlsMaterial(config, log);
}

/** Plain HTTP on the HIPAA API listener (loopback only: the configuration refuses any other host) is said in a warning. */
export function warnHipaaPlainHttp(config: Pick<Config, 'hipaaHttpPlain' | 'hipaaHttpHost'>, log: Logger): void {
  if (config.hipaaHttpPlain) log.warn({ host: config.hipaaHttpHost }, 'the HIPAA API listens over plain HTTP on loopback: a TLS-terminating proxy must be its only client');
}
