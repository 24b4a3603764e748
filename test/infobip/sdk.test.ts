import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AuthType, Infobip } from '@infobip-api/sdk';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { samplePdf } from '../helpers/samplePdf.js';

/**
 * Infobip's own Node SDK, pointed at Mailroom by its base URL and nothing else: it sends an email
 * with attachments and per-recipient placeholders, which the sandbox delivers, then reads the
 * delivery reports (once, then none) and the logs.
 */
let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.stop());

interface SdkResponse<T> {
  status: number;
  data: T;
}
interface SendData {
  bulkId: string;
  messages: { to: string; messageId: string; status: { groupName: string; name: string } }[];
}
interface ReportData {
  results: { bulkId: string; messageId: string; to: string; doneAt: string; status: { groupId: number; groupName: string; name: string }; error: { name: string } }[];
}
interface LogData {
  results: { messageId: string; to: string; from: string; bulkId: string; status: { groupName: string } }[];
}

test('the Infobip SDK sends through Mailroom, and reads reports once and logs', async () => {
  const infobip = new Infobip({ baseUrl: app.url, apiKey: app.key, authType: AuthType.ApiKey });
  const pdf = samplePdf();
  const sent = (await infobip.channels.email.send({
    from: 'Promo <promo@elipackage.com>',
    to: [
      JSON.stringify({ to: 'ana@example.com', placeholders: { name: 'Ana' } }),
      JSON.stringify({ to: 'bo@example.com', placeholders: { name: 'Bo' } }),
    ],
    subject: 'Offer for {{name}}',
    html: '<p>Hello {{name}}, see the attached {{thing}}.</p>',
    defaultPlaceholders: JSON.stringify({ thing: 'price list' }),
    callbackData: 'sdk-run-1',
    bulkId: 'sdk-bulk-1',
    attachment: [
      { data: pdf, name: 'prices.pdf' },
      { data: Buffer.from('a b\n1 2\n'), name: 'table.txt' },
    ],
  })) as SdkResponse<SendData>;
  assert.equal(sent.status, 200, `SDK send: ${JSON.stringify((sent as unknown as { response?: { data?: unknown } }).response?.data ?? sent.data)}`);
  assert.equal(sent.data.bulkId, 'sdk-bulk-1');
  assert.deepEqual(sent.data.messages.map((message) => message.to), ['ana@example.com', 'bo@example.com']);
  assert.ok(sent.data.messages.every((message) => message.status.name === 'PENDING_ACCEPTED'), 'accepted');

  // Delivered by the sandbox, with each recipient's own subject and both attachments.
  for (const [index, name] of ['Ana', 'Bo'].entries()) {
    const id = sent.data.messages[index]!.messageId;
    const raw = await eventually(async () => {
      const list = (await (await app.api('/sandbox/messages')).json()) as { data: { id: number; messageId: string }[] };
      const entry = list.data.find((item) => item.messageId === id);
      if (!entry) return undefined;
      return ((await (await app.api(`/sandbox/messages/${entry.id}`)).json()) as { data: { raw: string } }).data.raw;
    }, 15_000, `delivery of ${id}`);
    assert.match(raw, new RegExp(`^Subject: Offer for ${name}\\r$`, 'm'), 'the placeholder filled the subject');
    assert.match(raw, new RegExp(`Hello ${name}, see the attached price list`), 'placeholders and defaults filled the HTML');
    assert.match(raw, /filename="?prices\.pdf"?/, 'the PDF is attached');
    assert.match(raw, /filename="?table\.txt"?/, 'the text file is attached');
  }

  const reports = await eventually(async () => {
    const response = (await infobip.channels.email.report.get({ bulkId: 'sdk-bulk-1' })) as SdkResponse<ReportData>;
    assert.equal(response.status, 200);
    return response.data.results.length > 0 ? response.data.results : undefined;
  }, 15_000, 'the delivery reports');
  // Both were delivered before the first fetch (the sandbox caught both): one fetch has both.
  assert.deepEqual(reports.map((report) => report.to).sort(), ['ana@example.com', 'bo@example.com']);
  for (const report of reports) {
    assert.equal(report.bulkId, 'sdk-bulk-1');
    assert.deepEqual([report.status.groupId, report.status.groupName, report.status.name], [3, 'DELIVERED', 'DELIVERED_TO_HANDSET']);
    assert.equal(report.error.name, 'NO_ERROR');
    assert.match(report.doneAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/, "Infobip's time format");
  }
  const again = (await infobip.channels.email.report.get({ bulkId: 'sdk-bulk-1' })) as SdkResponse<ReportData>;
  assert.deepEqual(again.data.results, [], 'a report is returned once');

  const logs = (await infobip.channels.email.log.get({ bulkId: 'sdk-bulk-1', generalStatus: 'DELIVERED' })) as SdkResponse<LogData>;
  assert.equal(logs.status, 200);
  assert.deepEqual(logs.data.results.map((log) => log.to).sort(), ['ana@example.com', 'bo@example.com']);
  assert.ok(logs.data.results.every((log) => log.bulkId === 'sdk-bulk-1' && log.status.groupName === 'DELIVERED'), 'logs in Infobip\'s shape');
  const pending = (await infobip.channels.email.log.get({ bulkId: 'sdk-bulk-1', generalStatus: 'PENDING' })) as SdkResponse<LogData>;
  assert.deepEqual(pending.data.results, [], 'none left pending');

  // The stored messages carry callbackData as clientId.
  const email = (await (await app.api(`/emails/${sent.data.messages[0]!.messageId}`)).json()) as { data: { clientId: string } };
  assert.equal(email.data.clientId, 'sdk-run-1');
});

test('the SDK sees an error in Infobip\'s envelope', async () => {
  const infobip = new Infobip({ baseUrl: app.url, apiKey: app.key, authType: AuthType.ApiKey });
  const failed = (await infobip.channels.email.send({ from: 'promo@elipackage.com', to: 'x@example.com', subject: 's', text: 't', trackingUrl: 'https://t.example/x' })) as { response?: SdkResponse<{ requestError: { serviceException: { messageId: string; text: string } } }> };
  assert.equal(failed.response?.status, 400, 'the SDK returns axios\'s error with the response');
  assert.equal(failed.response.data.requestError.serviceException.messageId, 'BAD_REQUEST');
  assert.match(failed.response.data.requestError.serviceException.text, /trackingUrl is not supported/);
});
