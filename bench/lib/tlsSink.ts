import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessageCounter } from './messageCounter.js';
import { generate } from 'selfsigned';
import { ROOT } from './preamble.js';
import { childEnv, freePort, startChild } from './processes.js';
import type { CountingSink } from './smtpSink.js';

/**
 * A counting SMTP sink with STARTTLS (lib/tlsSinkServer.ts in a child process), whose
 * certificate a CA made here signs: a delivery that must verify the certificate trusts the CA
 * through `caFile` (MAILROOM_OUTBOUND_CA_FILE), as an installation would trust a private CA.
 * It has the interface of lib/smtpSink.ts's smtp-sink, which offers no STARTTLS.
 */
export interface TlsSink extends CountingSink {
  /** Messages received inside TLS (STARTTLS) since the sink started. */
  overTls(): number;
  /** Connections accepted since the sink started. */
  sessions(): number;
  /** The CA's certificate (PEM), the one to trust. */
  caFile: string;
}

export interface TlsSinkOptions {
  /** Where the certificates and keys are written (a scratch directory the caller removes). */
  dir: string;
  /** The names the sink's certificate is valid for (DNS subjectAltNames; `*.example` wildcards allowed). */
  hostnames: string[];
  maxConnections?: number;
}

/** A CA (RSA-2048, SHA-256) and a server certificate for `hostnames` signed by it, as PEM files in `dir`. */
async function certificates(dir: string, hostnames: string[]): Promise<{ caFile: string; keyFile: string; certFile: string }> {
  const ca = await generate([{ name: 'commonName', value: 'Mailroom bench CA' }], {
    keySize: 2048, algorithm: 'sha256',
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }],
  });
  const leaf = await generate([{ name: 'commonName', value: hostnames[0] ?? 'sink.bench.test' }], {
    keySize: 2048, algorithm: 'sha256', ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: hostnames.map((value) => ({ type: 2 as const, value })) },
    ],
  });
  const files = { caFile: join(dir, 'sink-ca.pem'), keyFile: join(dir, 'sink-key.pem'), certFile: join(dir, 'sink-cert.pem') };
  writeFileSync(files.caFile, ca.cert);
  writeFileSync(files.keyFile, leaf.private, { mode: 0o600 });
  writeFileSync(files.certFile, leaf.cert);
  return files;
}

export async function startTlsSink(options: TlsSinkOptions): Promise<TlsSink> {
  const { caFile, keyFile, certFile } = await certificates(options.dir, options.hostnames);
  const port = await freePort();
  const maxConnections = options.maxConnections ?? 1000;
  const child = startChild('TLS sink', process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib/tlsSinkServer.ts'), String(port), keyFile, certFile, String(maxConnections)], {
    cwd: ROOT, env: childEnv({}),
  });
  const counter = new MessageCounter('the TLS sink');
  let tls = 0;
  let sessions = 0;
  let partial = '';
  let ready: () => void = () => undefined;
  const listening = new Promise<void>((resolve) => (ready = resolve));
  // Child keeps the output for error reports; this listener reads the counts from the same stream.
  child.process.stdout?.on('data', (chunk: string | Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    const counts = lines.map((line) => /^mesg=(\d+) tls=(\d+) sess=(\d+)$/.exec(line)).filter((match) => match !== null).at(-1);
    if (lines.includes('listening')) ready();
    if (!counts) return;
    sessions = Number(counts[3]);
    if (Number(counts[1]) <= counter.count) return;
    tls = Number(counts[2]);
    counter.update(Number(counts[1]));
  });
  const exited = child.exited.then((exit) => {
    throw new Error(`the TLS sink exited (code ${exit.code}, signal ${exit.signal}) before it listened.\n${child.describeOutput()}`);
  });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the TLS sink did not listen within 30 s.\n${child.describeOutput()}`)), 30_000);
  });
  try {
    await Promise.race([listening, exited, late]);
  } catch (error) {
    await child.stop('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    port,
    pid: child.process.pid!,
    caFile,
    count: () => counter.count,
    overTls: () => tls,
    sessions: () => sessions,
    track: (more, stallMs) => counter.track(more, stallMs),
    async stop() {
      await child.stop('SIGTERM', 5_000);
    },
  };
}
