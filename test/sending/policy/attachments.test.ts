import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import nodemailer from 'nodemailer';

type MailOptions = Parameters<ReturnType<typeof nodemailer.createTransport>['sendMail']>[0];
import { AttachmentPolicy, rawAttachments } from '../../../src/sending/policy/attachments.js';
import { ApiError } from '../../../src/shared/errors.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const policy = new AttachmentPolicy(['pdf', 'docx', 'xlsx', 'txt', 'jpg', 'png', 'gif']);
const field = (index: number) => `attachments[${index}]`;

async function refusal(attachments: { filename: string | null; content: Buffer }[]): Promise<ApiError> {
  const error = await policy.check(attachments, field).then(() => null, (caught: unknown) => caught);
  assert.ok(error instanceof ApiError, 'expected a refusal');
  assert.equal(error.status, 415);
  assert.equal(error.code, 'ATTACHMENT_NOT_ALLOWED');
  return error;
}

test('every allowed type passes with content of its type, .jpeg as .jpg', async () => {
  await policy.check([
    { filename: 'invoice.pdf', content: fixture('invoice.pdf') },
    { filename: 'letter.docx', content: fixture('letter.docx') },
    { filename: 'orders.xlsx', content: fixture('orders.xlsx') },
    { filename: 'notes.txt', content: fixture('notes.txt') },
    { filename: 'photo.jpg', content: fixture('photo.jpg') },
    { filename: 'photo.JPEG', content: fixture('photo.jpg') },
    { filename: 'pixel.png', content: fixture('pixel.png') },
    { filename: 'pixel.gif', content: fixture('pixel.gif') },
  ], field);
});

test('a .pdf that is really a Windows executable is refused, and so is an ELF named .png', async () => {
  const error = await refusal([
    { filename: 'invoice.pdf', content: fixture('invoice.pdf') },
    { filename: 'statement.pdf', content: fixture('setup.exe') },
    { filename: 'logo.png', content: fixture('tool.elf') },
  ]);
  assert.deepEqual(error.details.map((detail) => detail.field), ['attachments[1]', 'attachments[2]']);
  assert.match(error.details[0]!.message, /statement\.pdf is a program \(application\/x-msdownload\)/);
  assert.match(error.details[1]!.message, /logo\.png is a program \(application\/x-elf\)/);
});

test('content of another allowed type under a name is refused (a PNG named .pdf, a docx named .xlsx)', async () => {
  const error = await refusal([
    { filename: 'scan.pdf', content: fixture('pixel.png') },
    { filename: 'sheet.xlsx', content: fixture('letter.docx') },
  ]);
  assert.match(error.details[0]!.message, /scan\.pdf is named \.pdf but holds image\/png/);
  assert.match(error.details[1]!.message, /sheet\.xlsx is named \.xlsx but holds application\/vnd\.openxmlformats-officedocument\.wordprocessingml\.document/);
});

test('a .txt must be text: binary bytes or a PDF under .txt are refused', async () => {
  const error = await refusal([
    { filename: 'a.txt', content: Buffer.from([0x68, 0x69, 0x00, 0x01]) },
    { filename: 'b.txt', content: fixture('invoice.pdf') },
  ]);
  assert.match(error.details[0]!.message, /a\.txt is named \.txt but holds binary data/);
  assert.match(error.details[1]!.message, /b\.txt is named \.txt but holds application\/pdf/);
});

test('extensions outside the list, and no extension, are refused; an operator can widen the list', async () => {
  const error = await refusal([
    { filename: 'setup.exe', content: fixture('notes.txt') },
    { filename: 'archive.zip', content: fixture('letter.docx') },
    { filename: 'README', content: fixture('notes.txt') },
  ]);
  assert.deepEqual(error.details.map((detail) => detail.message), [
    'setup.exe has the extension .exe, which is not allowed',
    'archive.zip has the extension .zip, which is not allowed',
    'README has no extension',
  ]);
  assert.match(error.message, /Allowed: \.pdf \.docx \.xlsx \.txt \.jpg \.png \.gif/);
  const wider = new AttachmentPolicy(['pdf', 'csv', 'ics']);
  await wider.check([{ filename: 'orders.csv', content: Buffer.from('a,b\n1,2\n') }, { filename: 'invite.ics', content: Buffer.from('BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n') }], field);
  // Widening the names never lets a program through.
  await assert.rejects(wider.check([{ filename: 'invite.ics', content: fixture('setup.exe') }], field), /invite\.ics is a program/);
});

test('rawAttachments finds the attachments of a submitted MIME message, decoded, and skips parsing a message without any', async () => {
  const compose = (options: MailOptions) => new Promise<Buffer>((resolve, reject) => {
    nodemailer.createTransport({ streamTransport: true, buffer: true }).sendMail(options, (error, info) => (error ? reject(error) : resolve(info.message as Buffer)));
  });
  const raw = await compose({
    from: 'a@example.com', to: 'b@example.com', subject: 'x', text: 'see attached', html: '<p>see attached</p>',
    attachments: [{ filename: 'statement.pdf', content: fixture('setup.exe'), contentType: 'application/pdf' }, { filename: 'notes.txt', content: fixture('notes.txt') }],
  });
  const found = await rawAttachments(raw);
  assert.deepEqual(found.map((attachment) => attachment.filename), ['statement.pdf', 'notes.txt']);
  assert.ok(found[0]!.content.equals(fixture('setup.exe')));
  assert.deepEqual(await rawAttachments(await compose({ from: 'a@example.com', to: 'b@example.com', subject: 'x', text: 'plain', html: '<p>plain</p>' })), []);
});
