/** The part of libqp 3 (Nodemailer's quoted-printable codec, no bundled types) used here. */
declare module 'libqp' {
  export function decode(input: string): Buffer;
  export function encode(input: Buffer | string): string;
  export function wrap(input: string, lineLength?: number): string;
}
