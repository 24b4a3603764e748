/**
 * A counting SMTP sink that offers STARTTLS (postfix's smtp-sink offers none), for deliveries
 * that must go over TLS: it accepts every message, discards it, and reports how many arrived
 * and how many of them inside TLS. smtp-server, the SMTP server library of the Nodemailer
 * project, already a dependency.
 *
 * Run as a child process (lib/tlsSink.ts starts it):
 *   node --import tsx bench/lib/tlsSinkServer.ts PORT KEY_FILE CERT_FILE MAX_CLIENTS
 * It prints `listening` once bound, then `mesg=N tls=M sess=S` (messages, of them inside TLS,
 * connections) after messages arrive or connections open: at most one line
 * per turn of the event loop, so a burst costs one write, yet the last count is never late by
 * more than a turn (the parent times the last message by it).
 */
import { readFileSync } from 'node:fs';
import { SMTPServer } from 'smtp-server';

const [portArg, keyFile, certFile, maxClientsArg] = process.argv.slice(2);
const port = Number(portArg);
const maxClients = Number(maxClientsArg);
if (!Number.isInteger(port) || port <= 0 || !keyFile || !certFile || !Number.isInteger(maxClients) || maxClients <= 0) {
  console.error('usage: tlsSinkServer.ts PORT KEY_FILE CERT_FILE MAX_CLIENTS');
  process.exit(2);
}

let received = 0;
let overTls = 0;
let sessions = 0;
let reportPending = false;

function report(): void {
  if (reportPending) return;
  reportPending = true;
  setImmediate(() => {
    reportPending = false;
    process.stdout.write(`mesg=${received} tls=${overTls} sess=${sessions}\n`);
  });
}

const server = new SMTPServer({
  name: 'sink.bench.test',
  key: readFileSync(keyFile),
  cert: readFileSync(certFile),
  // A receiving MX: no authentication; STARTTLS offered (not required: the standard account's
  // opportunistic TLS must find it offered, and a plain-text delivery is counted, not refused).
  authOptional: true,
  disabledCommands: ['AUTH'],
  logger: false,
  maxClients,
  size: 50 * 1024 * 1024,
  onConnect(_session, callback) {
    sessions++;
    report();
    callback();
  },
  onData(stream, session, callback) {
    stream.on('data', () => undefined);
    stream.on('end', () => {
      received++;
      if (session.secure) overTls++;
      report();
      callback();
    });
  },
});
// A client that drops its connection is the client's business; the sink keeps counting.
server.on('error', () => undefined);
server.listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));

// At once: the client's pool keeps idle connections open for half a minute, which server.close()
// would wait for, and there is nothing to flush (stdout to a pipe is written synchronously on Linux).
const stop = () => process.exit(0);
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
