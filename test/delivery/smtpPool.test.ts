import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { HostPool, type HostPoolOptions, type SmtpError } from '../../src/delivery/smtpPool.js';
import { freePort } from '../helpers/process.js';
import { startScriptedSmtp } from '../helpers/scriptedSmtp.js';

/**
 * The connection pool against real SMTP servers on loopback: smtp-server for the ordinary cases,
 * and a hand-scripted TCP server for the one smtp-server cannot play, a server that drops a
 * reused connection at a chosen moment.
 */
const RAW = Buffer.from('From: a@example.com\r\nTo: b@example.org\r\nSubject: pool\r\n\r\nbody\r\n');
let port: number;
let server: Awaited<ReturnType<typeof startScriptedSmtp>>;

before(async () => {
  port = await freePort();
  server = await startScriptedSmtp({ host: '127.0.0.1', port, rcpt: (address) => (address.startsWith('nobody') ? [550, '5.1.1 No such user'] : null) });
});
after(async () => {
  await server.close();
});

function pool(targetPort: number, overrides: Partial<HostPoolOptions> = {}): HostPool {
  return new HostPool({
    connection: { host: '127.0.0.1', port: targetPort, ignoreTLS: true, connectionTimeout: 5_000, greetingTimeout: 5_000, socketTimeout: 5_000 },
    maxConnections: 3,
    maxMessagesPerConnection: 1000,
    idleMs: 30_000,
    ...overrides,
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), what);
}

test('30 concurrent sends over at most 3 reused connections, each delivered once', async () => {
  const before = { connections: server.stats.connections, transactions: server.transactions.length };
  server.stats.maxOpen = server.stats.open;
  const hosts = pool(port);
  try {
    const results = await Promise.all(Array.from({ length: 30 }, (_, index) => hosts.send({ from: 'a@example.com', to: [`user${index}@example.org`] }, RAW)));
    assert.ok(results.every((result) => /^250 /.test(result.info.response) && result.secure === false));
    assert.equal(server.transactions.length - before.transactions, 30);
    assert.ok(server.stats.connections - before.connections <= 3, `${server.stats.connections - before.connections} connections`);
    assert.ok(server.stats.maxOpen <= 3);
  } finally {
    hosts.close();
  }
});

test('a refused recipient fails its send with the reply; the session is reset and reused', async () => {
  const before = server.stats.connections;
  const hosts = pool(port, { maxConnections: 1 });
  try {
    await hosts.send({ from: 'a@example.com', to: ['first@example.org'] }, RAW);
    await assert.rejects(hosts.send({ from: 'a@example.com', to: ['nobody@example.org'] }, RAW), (error: SmtpError) => {
      assert.equal(error.code, 'EENVELOPE');
      assert.equal(error.responseCode, 550);
      return true;
    });
    const partial = await hosts.send({ from: 'a@example.com', to: ['nobody2@example.org', 'third@example.org'] }, RAW);
    assert.deepEqual(partial.info.accepted, ['third@example.org']);
    assert.equal(partial.info.rejectedErrors?.[0]?.responseCode, 550);
    assert.equal(server.stats.connections - before, 1, 'one connection for all three transactions');
  } finally {
    hosts.close();
  }
});

test('a connection is replaced after maxMessagesPerConnection transactions, and closed when idle', async () => {
  const before = server.stats.connections;
  const hosts = pool(port, { maxConnections: 1, maxMessagesPerConnection: 2, idleMs: 100 });
  try {
    for (let i = 0; i < 5; i++) await hosts.send({ from: 'a@example.com', to: [`seq${i}@example.org`] }, RAW);
    assert.equal(server.stats.connections - before, 3);
    await until(() => hosts.size === 0, 'the idle connection was not closed');
    await hosts.send({ from: 'a@example.com', to: ['later@example.org'] }, RAW);
    assert.equal(server.stats.connections - before, 4);
  } finally {
    hosts.close();
  }
});

test('nobody listening: the send fails with a connection error and leaves no connection behind', async () => {
  const hosts = pool(await freePort());
  try {
    await assert.rejects(hosts.send({ from: 'a@example.com', to: ['x@example.org'] }, RAW), (error: SmtpError) => {
      assert.ok(['ECONNECTION', 'ESOCKET'].includes(error.code ?? ''), error.code);
      assert.equal(error.responseCode, undefined);
      return true;
    });
    assert.equal(hosts.size, 0);
  } finally {
    hosts.close();
  }
});

/**
 * A minimal SMTP server whose sessions do what `onMail` says when the Nth MAIL FROM of a
 * connection arrives (counting from 1), and that records each message it received.
 */
async function startDroppingServer(onMail: (connection: number, transaction: number) => 'ok' | 'drop-now' | 'drop-after-data') {
  const received: string[] = [];
  let connections = 0;
  const tcp = createServer((socket: Socket) => {
    const connection = ++connections;
    let transaction = 0;
    let inData = false;
    let dropAfterData = false;
    let buffer = '';
    socket.write('220 dropper ESMTP\r\n');
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line !== '.') continue;
          inData = false;
          received.push(`${connection}/${transaction}`);
          if (dropAfterData) return void socket.destroy();
          socket.write('250 2.0.0 queued\r\n');
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') socket.write('250-dropper\r\n250 PIPELINING\r\n');
        else if (verb === 'MAIL') {
          const action = onMail(connection, ++transaction);
          if (action === 'drop-now') return void socket.destroy();
          dropAfterData = action === 'drop-after-data';
          socket.write('250 2.1.0 ok\r\n');
        } else if (verb === 'RCPT') socket.write('250 2.1.5 ok\r\n');
        else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (verb === 'RSET') socket.write('250 ok\r\n');
        else if (verb === 'QUIT') {
          socket.write('221 bye\r\n');
          socket.end();
        } else socket.write('502 5.5.2 unknown\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  return {
    port: (tcp.address() as AddressInfo).port,
    received,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => tcp.close(() => resolve())),
  };
}

test('a reused connection that dies before DATA is replaced at once: the message goes out once', async () => {
  // The first connection takes one message, then dies as the second MAIL FROM arrives (as when a
  // server drops an idle session just as it is reused).
  const dropper = await startDroppingServer((connection, transaction) => (connection === 1 && transaction === 2 ? 'drop-now' : 'ok'));
  const hosts = pool(dropper.port, { maxConnections: 1 });
  try {
    await hosts.send({ from: 'a@example.com', to: ['one@example.org'] }, RAW);
    const second = await hosts.send({ from: 'a@example.com', to: ['two@example.org'] }, RAW);
    assert.match(second.info.response, /^250 /);
    assert.deepEqual(dropper.received, ['1/1', '2/1']);
    assert.equal(dropper.connections(), 2);
  } finally {
    hosts.close();
    await dropper.close();
  }
});

test('a connection that dies after the message was sent is not retried here (it may have arrived)', async () => {
  const dropper = await startDroppingServer((connection, transaction) => (connection === 1 && transaction === 2 ? 'drop-after-data' : 'ok'));
  const hosts = pool(dropper.port, { maxConnections: 1 });
  try {
    await hosts.send({ from: 'a@example.com', to: ['one@example.org'] }, RAW);
    await assert.rejects(hosts.send({ from: 'a@example.com', to: ['two@example.org'] }, RAW), (error: SmtpError) => {
      assert.equal(error.responseCode, undefined);
      return true;
    });
    assert.deepEqual(dropper.received, ['1/1', '1/2'], 'the message reached the server once, and was not sent again');
    const third = await hosts.send({ from: 'a@example.com', to: ['three@example.org'] }, RAW);
    assert.match(third.info.response, /^250 /);
  } finally {
    hosts.close();
    await dropper.close();
  }
});

test('close() fails the sends that wait for a connection, and every send after it', async () => {
  const dropper = await startDroppingServer(() => 'ok');
  const hosts = pool(dropper.port, { maxConnections: 1 });
  // The first send takes the only slot (it is connecting); the second has to wait for it.
  const first = hosts.send({ from: 'a@example.com', to: ['one@example.org'] }, RAW);
  const waiting = hosts.send({ from: 'a@example.com', to: ['two@example.org'] }, RAW);
  hosts.close();
  await assert.rejects(waiting, /pool closed/);
  await assert.rejects(hosts.send({ from: 'a@example.com', to: ['three@example.org'] }, RAW), /pool closed/);
  await first.catch(() => undefined);
  await until(() => hosts.size === 0, 'a connection outlived close()');
  assert.ok(!dropper.received.includes('1/2'));
  await dropper.close();
});

test('the duplicate window: a connection holds its next final dot until the last accepted message is recorded', async () => {
  const hosts = pool(port, { maxConnections: 1 });
  const before = server.transactions.length;
  let markRecorded!: () => void;
  const recorded = new Promise<void>((resolve) => (markRecorded = resolve));
  try {
    await hosts.send({ from: 'a@example.com', to: ['first@example.org'] }, RAW, recorded);
    let secondDone = false;
    const second = hosts.send({ from: 'a@example.com', to: ['second@example.org'] }, RAW).then((result) => {
      secondDone = true;
      return result;
    });
    // The second message's envelope and body go out; only its final dot waits.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(server.transactions.length - before, 1, 'the second message is not complete at the server');
    assert.equal(secondDone, false);
    markRecorded();
    assert.match((await second).info.response, /^250 /);
    assert.equal(server.transactions.length - before, 2);
    // The second carried no record promise: a third goes at once.
    await hosts.send({ from: 'a@example.com', to: ['third@example.org'] }, RAW);
    assert.equal(server.transactions.length - before, 3);
  } finally {
    hosts.close();
  }
});

test('a connection closed while its final dot waits fails that send, and the late record harms nothing', async () => {
  const hosts = pool(port, { maxConnections: 1 });
  let markRecorded!: () => void;
  const recorded = new Promise<void>((resolve) => (markRecorded = resolve));
  await hosts.send({ from: 'a@example.com', to: ['first@example.org'] }, RAW, recorded);
  const second = hosts.send({ from: 'a@example.com', to: ['second@example.org'] }, RAW);
  await new Promise((resolve) => setTimeout(resolve, 200));
  hosts.close();
  await assert.rejects(second);
  markRecorded();
  // The held end() now runs against a closed connection: no throw, no unhandled rejection.
  await new Promise((resolve) => setTimeout(resolve, 100));
});
