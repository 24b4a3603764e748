/**
 * An answer whose `data` is an array when the request's field was one, else the single object:
 * `emails.send({ to: 'a@x' })` answers one message, `emails.send({ to: ['a@x', 'b@y'] })` one per
 * address, each typed as such without a check at the call site.
 */
export type DataFollows<Answer extends { data: unknown }, Field> = Omit<Answer, 'data'> & {
  data: Field extends readonly unknown[] ? Extract<Answer['data'], readonly unknown[]> : Exclude<Answer['data'], readonly unknown[]>;
};
