import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { listenerProblem } from '../../src/cli/listenerError.js';
import { loadConfig } from '../../src/config/load.js';

/** The error Node gives a listener that cannot open, as Mailroom's listeners meet it. */
async function listenError(port: number, host: string): Promise<unknown> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', resolve);
    server.listen(port, host, () => server.close(() => resolve(null)));
  });
}

test('a taken port is one line naming its setting; an address not of this machine names the host setting', async () => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const port = (holder.address() as { port: number }).port;
  try {
    const taken = await listenError(port, '127.0.0.1');
    assert.ok(taken, 'the port is taken');
    const smtpConfig = loadConfig({ env: { MAILROOM_SMTP_PORT: String(port) } });
    assert.equal(listenerProblem(taken, smtpConfig), `127.0.0.1:${port} (MAILROOM_SMTP_PORT) is already in use (another Mailroom, or another server, holds it): set MAILROOM_SMTP_PORT to another port, or stop what holds it.`);
    const unnamed = loadConfig({ env: {} });
    assert.match(listenerProblem(taken, unnamed) ?? '', new RegExp(`^127\\.0\\.0\\.1:${port} is already in use`), 'a port no setting names is still one line');
  } finally {
    holder.close();
  }
  const foreign = await listenError(port, '192.0.2.1');
  assert.ok(foreign, 'not an address of this machine');
  const config = loadConfig({ env: { MAILROOM_HTTP_PORT: String(port) } });
  assert.match(listenerProblem(foreign, config) ?? '', /cannot be opened.*set MAILROOM_HOST to an address of this machine\.$/);
  assert.equal(listenerProblem(new Error('something else'), config), null, 'any other error is left to the caller');
});
