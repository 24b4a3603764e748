import { Transform, type TransformCallback } from 'node:stream';

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const BOM = [0xef, 0xbb, 0xbf];

/**
 * Where a record of the file is: the line it starts on (1-based), where it ends in the bytes
 * csv-parse is given (after its line break), and whether it was cut.
 */
export interface RecordSpan {
  line: number;
  endByte: number;
  truncated: boolean;
}

/**
 * What csv-parse is given, watched on the way: it bounds the memory of one record and says on
 * which lines each record is.
 *
 * csv-parse holds a record's fields whole, however large: a single 100 MB cell would be held
 * two or three times over. This stream forwards each record's first `maxRecordBytes` bytes and
 * drops the rest (the reader refuses such a record).
 *
 * To know where a record ends (a line break inside quotes does not end it), it follows the
 * quoting exactly as csv-parse does with its strict defaults: a quote opens a field only at the
 * field's start, "" inside quotes is a quote, a quote followed by a comma, LF or CRLF closes the
 * field, and after a quote followed by anything else (an error csv-parse reports) the field stays
 * open, as in csv-parse. Records end at LF or CRLF (a file whose lines end in CR alone is one
 * long record). A truncated record is closed as csv-parse expects (a closing quote when it was
 * cut inside quotes), and the line breaks dropped with it are forwarded as empty lines after it,
 * so that csv-parse's line numbers stay those of the file.
 *
 * Every record csv-parse will see (not the empty lines it skips) is queued in `spans` before
 * csv-parse can emit it: the reader takes one span per record, which is cheaper than asking
 * csv-parse for each record's position (an object per record, a third of its time). Lines are
 * counted at each LF (csv-parse also counts a CR inside a field as a line).
 *
 * A UTF-8 byte order mark at the start is not forwarded (csv-parse's own BOM handling would also
 * switch to UTF-16 on a UTF-16 mark, which this byte-wise reading does not follow).
 */
export class CsvRecordGuard extends Transform {
  readonly spans: RecordSpan[] = [];
  private spansRead = 0;
  private line = 1;
  /** Bytes forwarded so far. */
  private out = 0;
  private recordStart = 1;
  private recordBytes = 0;
  /** The record's bytes, a byte order mark left out, and whether they are a lone CR so far. */
  private contentBytes = 0;
  private onlyCr = false;
  private fieldStart = true;
  private quoting = false;
  private quotePending = false;
  /** After a quote and a CR inside quotes: LF next closes the field and the record. */
  private quoteCr = false;
  private dropping = false;
  private needsClosingQuote = false;
  private droppedLines = 0;
  private started = false;

  constructor(private readonly maxRecordBytes: number) {
    super();
  }

  /** The next record's span (in file order), or undefined when none is queued. */
  nextSpan(): RecordSpan | undefined {
    if (this.spansRead >= this.spans.length) return undefined;
    const span = this.spans[this.spansRead++]!;
    // Read spans are dropped now and then, not one by one (shift() on a long array copies it).
    if (this.spansRead >= 1024) {
      this.spans.splice(0, this.spansRead);
      this.spansRead = 0;
    }
    return span;
  }

  /** The next span without taking it. */
  peekSpan(): RecordSpan | undefined {
    return this.spans[this.spansRead];
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let from = 0;
    if (!this.started) {
      this.started = true;
      // The first chunk of a file is never shorter than its first three bytes.
      if (chunk.length >= 3 && chunk[0] === BOM[0] && chunk[1] === BOM[1] && chunk[2] === BOM[2]) from = 3;
    }
    for (let i = from; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (!this.dropping && this.recordBytes >= this.maxRecordBytes) {
        this.forward(chunk.subarray(from, i));
        this.dropping = true;
        // A quote forwarded and still pending closes the field with whatever comes next.
        this.needsClosingQuote = this.quoting && !this.quotePending && !this.quoteCr;
      }
      this.recordBytes++;
      if (this.step(byte)) {
        let endByte: number;
        if (this.dropping) {
          this.forward(Buffer.from(`${this.needsClosingQuote ? '"' : ''}\n`));
          endByte = this.out;
          this.forward(Buffer.from('\n'.repeat(this.droppedLines)));
          from = i + 1;
        } else endByte = this.out + (i + 1 - from);
        if (!this.emptyRecord()) this.spans.push({ line: this.recordStart, endByte, truncated: this.dropping });
        this.endRecord();
        continue;
      }
      if (byte === LF && this.dropping) this.droppedLines++;
      if (this.dropping) from = i + 1;
    }
    this.forward(chunk.subarray(from));
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.dropping && this.needsClosingQuote) this.forward(Buffer.from('"'));
    if (this.contentBytes > 0) this.spans.push({ line: this.recordStart, endByte: this.out, truncated: this.dropping });
    done();
  }

  private forward(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.out += bytes.length;
    this.push(bytes);
  }

  /** Moves the state over one byte; true when the byte ends a record. */
  private step(byte: number): boolean {
    if (byte === LF) this.line++;
    else {
      this.onlyCr = this.contentBytes === 0 && byte === CR;
      this.contentBytes++;
    }
    if (this.quoting) {
      if (this.quoteCr) {
        this.quoteCr = false;
        if (byte === LF) return this.recordEnd();
        // Anything else: the quote did not close the field after all; this byte is inside it.
      } else if (this.quotePending) {
        this.quotePending = false;
        if (byte === COMMA) {
          this.quoting = false;
          this.fieldStart = true;
        } else if (byte === LF) return this.recordEnd();
        else if (byte === CR) this.quoteCr = true;
        return false;
      }
      if (byte === QUOTE) this.quotePending = true;
      return false;
    }
    if (byte === LF) return this.recordEnd();
    if (byte === QUOTE && this.fieldStart) {
      this.quoting = true;
      this.fieldStart = false;
    } else this.fieldStart = byte === COMMA;
    return false;
  }

  private recordEnd(): boolean {
    this.quoting = false;
    return true;
  }

  /** An empty line, which csv-parse skips (no record): nothing, or a CR alone, before the LF. */
  private emptyRecord(): boolean {
    return this.contentBytes === 0 || (this.contentBytes === 1 && this.onlyCr);
  }

  private endRecord(): void {
    this.recordStart = this.line;
    this.recordBytes = 0;
    this.contentBytes = 0;
    this.onlyCr = false;
    this.fieldStart = true;
    this.quoting = false;
    this.quotePending = false;
    this.quoteCr = false;
    this.dropping = false;
    this.droppedLines = 0;
  }
}
