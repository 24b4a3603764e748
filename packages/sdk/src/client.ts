import { MailroomResources } from './generated.js';
import { Transport, type OperationSpec, type RequestArguments, type RequestOptions, type TransportOptions } from './transport.js';

export type MailroomOptions = TransportOptions;

/**
 * The Mailroom API client: one property per resource (`emails`, `domains`, `webhooks`, ...), each
 * with a typed method per operation, generated from the API's OpenAPI document.
 *
 *   const mailroom = new Mailroom({ apiKey: process.env.MAILROOM_API_KEY!, baseUrl: 'https://mail.example.com' });
 *   const { data } = await mailroom.emails.send({ from, to, subject, text });
 */
export class Mailroom extends MailroomResources {
  private readonly transport: Transport;

  constructor(options: MailroomOptions) {
    const transport = new Transport(options);
    super(transport);
    this.transport = transport;
  }

  /** Any operation by hand (one the generated methods do not cover yet), with the same retries and errors. */
  request<T = unknown>(operation: OperationSpec, args: RequestArguments = {}, options?: RequestOptions): Promise<T> {
    return this.transport.request<T>(operation, args, options);
  }
}
