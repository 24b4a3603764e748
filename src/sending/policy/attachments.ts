import { fileTypeFromBuffer } from 'file-type';
import { simpleParser } from 'mailparser';
import { ApiError, type ErrorDetail } from '../../shared/errors.js';

/**
 * What each allowed extension's bytes must be, as file-type (magic numbers, and the parts list
 * of an Office zip) detects them. `null`: a type with no signature (plain text), which must be
 * detected as nothing and hold no NUL byte. An extension not listed here (one an operator added)
 * is held only to the rule for everyone: its content must not be a program.
 */
const CONTENT_OF: Record<string, readonly string[] | null> = {
  pdf: ['pdf'],
  docx: ['docx'],
  xlsx: ['xlsx'],
  txt: null,
  csv: null,
  jpg: ['jpg'],
  jpeg: ['jpg'],
  png: ['png'],
  gif: ['gif'],
};

/** Detected types that are programs or installers: never attached, whatever the name says. */
const EXECUTABLE = new Set(['exe', 'elf', 'mach', 'msi', 'apk', 'class', 'dex', 'wasm', 'swf', 'cab', 'deb', 'rpm', 'dmg', 'lnk', 'jar', 'xpi', 'crx']);

export interface AttachmentInput {
  filename: string | null;
  content: Buffer;
}

/**
 * Attachments allowed by extension and by content (SPEC section 7): a `.pdf` must be a PDF,
 * and nothing may be a program whatever its name. The content is sniffed rather than the
 * declared Content-Type trusted, because the declaration is the sender's word and the spoof is
 * exactly what this stops. Refusals are 415 ATTACHMENT_NOT_ALLOWED (SMTP 554 5.6.1).
 */
export class AttachmentPolicy {
  private readonly allowed: Set<string>;

  /** `extensions`: MAILROOM_ATTACHMENT_EXTENSIONS, by default the seed's .pdf .docx .xlsx .txt .jpg .png .gif. */
  constructor(extensions: readonly string[]) {
    this.allowed = new Set(extensions.map((extension) => extension.toLowerCase().replace(/^\./, '')));
    // .jpeg is the same type as .jpg, and refusing it would only puzzle people.
    if (this.allowed.has('jpg')) this.allowed.add('jpeg');
  }

  /** Throws the refusal naming every attachment that breaks the rule. */
  async check(attachments: readonly AttachmentInput[], field: (index: number) => string): Promise<void> {
    if (attachments.length === 0) return;
    const details: ErrorDetail[] = [];
    await Promise.all(attachments.map(async (attachment, index) => {
      const problem = await this.problem(attachment);
      if (problem) details[index] = { field: field(index), message: problem };
    }));
    const found = details.filter((detail): detail is ErrorDetail => detail !== undefined);
    if (found.length === 0) return;
    const list = [...this.allowed].filter((extension) => extension !== 'jpeg').map((extension) => `.${extension}`).join(' ');
    throw new ApiError(415, 'ATTACHMENT_NOT_ALLOWED', `An attachment is not allowed: ${found.map((detail) => detail.message).join('; ')}. Allowed: ${list}, each with content of its type.`, found);
  }

  private async problem({ filename, content }: AttachmentInput): Promise<string | null> {
    const detected = await fileTypeFromBuffer(content);
    const name = filename ?? '(no name)';
    if (detected && EXECUTABLE.has(detected.ext)) return `${name} is a program (${detected.mime})`;
    if (filename === null) return null;
    const dot = filename.lastIndexOf('.');
    const extension = dot > 0 ? filename.slice(dot + 1).toLowerCase() : '';
    if (!this.allowed.has(extension)) return extension ? `${filename} has the extension .${extension}, which is not allowed` : `${filename} has no extension`;
    const expected = CONTENT_OF[extension];
    if (expected === undefined) return null;
    if (expected === null) {
      if (detected) return `${filename} is named .${extension} but holds ${detected.mime}`;
      if (content.includes(0)) return `${filename} is named .${extension} but holds binary data`;
      return null;
    }
    if (!detected || !expected.includes(detected.ext)) {
      return `${filename} is named .${extension} but ${detected ? `holds ${detected.mime}` : 'its content is not of that type'}`;
    }
    return null;
  }
}

/** Quick test before parsing a submitted message: no part can be an attachment without a name= or filename= parameter, or a non-text body. */
const MAY_HAVE_ATTACHMENTS = /^content-(disposition|type):[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*\b(file)?name\*?=|^content-type:\s*(application|image|audio|video|model|font)\//im;

/**
 * The attachments of a MIME message submitted over SMTP, decoded. Parsing a whole message costs
 * a millisecond, so a message that cannot have any (no name parameter, no non-text part) is not
 * parsed at all; mailparser, because attachment parts come in every encoding and nesting.
 */
export async function rawAttachments(raw: Buffer): Promise<AttachmentInput[]> {
  if (!MAY_HAVE_ATTACHMENTS.test(raw.toString('latin1'))) return [];
  const parsed = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true, skipTextLinks: true });
  return parsed.attachments.map((attachment) => ({ filename: attachment.filename ?? null, content: attachment.content }));
}
