import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { STATUSES } from '../../src/events/status.js';
import { MAPPED_STATUSES, REPORT_EVENT_TYPES, infobipStatus, parseInfobipTime, statusesOfGroup } from '../../src/infobip/statuses.js';
import { fieldName } from '../../src/infobip/form.js';

test('every Mailroom status has an Infobip status', () => {
  assert.deepEqual([...MAPPED_STATUSES].sort(), [...STATUSES].sort(), 'the table maps each status');
  assert.deepEqual(infobipStatus('QUEUED'), { groupId: 1, groupName: 'PENDING', id: 26, name: 'PENDING_ACCEPTED', description: 'Message accepted, pending for delivery.' });
  assert.equal(infobipStatus('BOUNCED', 'expired').groupName, 'EXPIRED', 'retries ran out: EXPIRED');
  assert.equal(infobipStatus('BOUNCED', 'userunknown').groupName, 'UNDELIVERABLE');
  assert.equal(infobipStatus('REJECTED').name, 'REJECTED_DESTINATION');
  assert.deepEqual(statusesOfGroup('PENDING').sort(), ['DEFERRED', 'QUEUED', 'SCHEDULED', 'SENT']);
  assert.deepEqual(statusesOfGroup('DELIVERED').sort(), ['COMPLAINED', 'DELIVERED']);
});

test("the reports' SQL and index list the table's report types", () => {
  const types = [...REPORT_EVENT_TYPES].sort();
  for (const file of ['../../src/infobip/reports.sql', '../../src/db/migrations/030_infobip_reports.sql']) {
    const text = readFileSync(new URL(file, import.meta.url), 'utf8');
    const listed = /type IN \(([^)]*)\)/.exec(text)?.[1];
    assert.ok(listed, `${file} lists the types`);
    assert.deepEqual(listed.split(',').map((type) => type.trim().replace(/'/g, '')).sort(), types, `${file} agrees with statuses.ts`);
  }
});

test('field names in every SDK spelling; times in Infobip\'s format', () => {
  for (const name of ['to', 'to[]', 'to[0]', "to['0']", 'to["0"]', 'to[%220%22]']) assert.equal(fieldName(name), 'to', name);
  for (const name of ['to[x]', 'a.b', '__proto__', 'to[0][1]']) assert.throws(() => fieldName(name), /not one Infobip/, name);
  assert.equal(parseInfobipTime('2026-12-07T09:00:00.000+0000')?.toISOString(), '2026-12-07T09:00:00.000Z');
  assert.equal(parseInfobipTime('2026-12-07T10:00:00.000+01:00')?.toISOString(), '2026-12-07T09:00:00.000Z');
  assert.equal(parseInfobipTime('yesterday'), null);
});
