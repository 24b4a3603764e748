import type { FastifyRequest } from 'fastify';
import { ApiError } from '../shared/errors.js';

/**
 * The multipart body of POST /email/3/send, read whole into fields and files. The SDKs spell a
 * repeated field `to`, `to[0]`, `to['0']` or `to["0"]` (Infobip's Node SDK writes arrays as
 * `to['0']`); every spelling is the field `to`, values in the order they came.
 */
export interface FormFile {
  field: string;
  filename: string;
  mimetype: string;
  content: Buffer;
}

export interface InfobipForm {
  /** Field name (its index stripped) → its values in order. A part sent as application/json arrives parsed. */
  fields: Map<string, unknown[]>;
  files: FormFile[];
}

/** Mailroom's ceiling on one message (10 MB), and its attachment count. */
export const FORM_LIMITS = { fileSize: 10 * 1024 * 1024, files: 50, fields: 2_000, fieldSize: 10 * 1024 * 1024, parts: 2_100 } as const;
/**
 * The whole form, as POST /emails's body limit: a message is at most 10 MB, so a form much larger
 * can only be refused, and is refused while it is read rather than held (50 files of 10 MB).
 */
export const MAX_FORM_BYTES = 16 * 1024 * 1024;

/** `to`, `to[]`, `to[0]`, `to['0']`, `to["0"]` (which WHATWG FormData, as fetch sends it, writes `to[%220%22]`). */
const INDEXED = /^([A-Za-z][A-Za-z0-9]*)(?:\[(?:'\d+'|"\d+"|%22\d+%22|\d*)\])?$/;

/** `to['0']` → `to`; a name no SDK writes (`to[x]`, `a.b`) is refused by name. */
export function fieldName(raw: string): string {
  const match = INDEXED.exec(raw);
  if (!match) throw badRequest(`The form field name "${raw.slice(0, 100)}" is not one Infobip's API takes (a name, optionally with an index: to, to[0], to['0']).`);
  return match[1]!;
}

export function badRequest(message: string, field = ''): ApiError {
  return new ApiError(400, 'BAD_REQUEST', message, field ? [{ field, message }] : []);
}

/**
 * Reads the parts. Whatever the multipart parser throws (a body cut short, a broken boundary, a
 * limit) is the client's: 413 for a limit, else 400, never a 500.
 */
export async function readForm(request: FastifyRequest): Promise<InfobipForm> {
  if (!request.isMultipart()) {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'POST /email/3/send takes multipart/form-data, as Infobip\'s API does.');
  }
  const fields = new Map<string, unknown[]>();
  const files: FormFile[] = [];
  let total = 0;
  const count = (bytes: number) => {
    total += bytes;
    if (total > MAX_FORM_BYTES) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `The form is larger than ${MAX_FORM_BYTES} bytes; a message is at most 10 MB.`);
  };
  try {
    for await (const part of request.parts({ limits: FORM_LIMITS })) {
      const name = fieldName(part.fieldname);
      if (part.type === 'file') {
        const content = await part.toBuffer();
        count(content.length);
        files.push({ field: name, filename: part.filename, mimetype: part.mimetype, content });
        continue;
      }
      if (part.valueTruncated || part.fieldnameTruncated) {
        throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `The form field ${name} is larger than ${FORM_LIMITS.fieldSize} bytes.`);
      }
      count(typeof part.value === 'string' ? Buffer.byteLength(part.value) : JSON.stringify(part.value).length);
      const values = fields.get(name);
      if (values) values.push(part.value);
      else fields.set(name, [part.value]);
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 413) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `The form is over a limit: at most ${FORM_LIMITS.files} files of ${FORM_LIMITS.fileSize} bytes and ${FORM_LIMITS.fields} fields.`);
    throw badRequest(`The multipart body could not be read: ${(error as Error).message}.`);
  }
  return { fields, files };
}
