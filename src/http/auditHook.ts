import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditEvent, AuditLog } from '../audit/audit.js';
import type { SendAudit } from '../sending/pipeline.js';
import type { Logger } from '../shared/log.js';

/** Response bodies that name the messages a send made: their ids are the action's target. */
const ID_FIELD = /"id":"([0-9a-z]{22})"/g;
const ERROR_CODE = /"code":"([A-Z_]{1,64})"/;
/** A message id, or a numeric id (webhooks, credentials, lists). */
const MAILROOM_ID = /^(?:[0-9a-z]{22}|\d{1,19})$/;

/** The sends whose entries their storing statements write (POST /emails of a HIPAA account). */
const sendAudits = new WeakMap<FastifyRequest, SendAudit>();

/** Who did a request and from where, as its entry says. */
function who(request: FastifyRequest): Pick<AuditEvent, 'actor' | 'operator' | 'action' | 'remoteAddress'> | null {
  const principal = request.principal;
  if (!principal?.accountHipaa) return null;
  return {
    actor: principal.sessionId !== undefined ? `session:${principal.sessionId}` : principal.keyId === null ? 'smtp-credential' : `key:${principal.keyId}`,
    operator: principal.operatorName,
    action: `${request.method} ${request.routeOptions.url ?? 'unrouted'}`,
    remoteAddress: request.ip,
  };
}

/**
 * A HIPAA account's send, on a server that audits: the pipeline writes its entry with the
 * messages (one commit for both), and the hook below then only has the entry chained. Null for
 * every other request.
 */
export function sendAuditOf(request: FastifyRequest): SendAudit | null {
  const stamp = who(request);
  if (!stamp) return null;
  const audit: SendAudit = { event: { accountId: request.principal!.accountId, ...stamp }, written: false };
  sendAudits.set(request, audit);
  return audit;
}

/**
 * Every API request of a HIPAA account goes on its audit log before it is answered (docs/HIPAA.md):
 * who (key and operator), what (method and route, with the ids it named or made), from where,
 * and how it ended (status, and the error code of a refusal). Never a body, a query string or a
 * header: those may carry PHI. A HIPAA key refused on the standard listener is recorded too.
 */
export function auditHook(audit: AuditLog, log: Logger) {
  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    const principal = request.principal;
    const stamp = who(request);
    if (!principal || !stamp) return payload;
    const status = reply.statusCode;
    if (status < 300 && sendAudits.get(request)?.written) {
      audit.chainSoon();
      return payload;
    }
    const text = typeof payload === 'string' ? payload : '';
    const params = request.params as Record<string, unknown> | undefined;
    // A refused request may name anything (a typo, a patient's name): only an id of Mailroom's
    // own shape is kept from it. An answered one named something of the account's.
    const named = typeof params?.id === 'string' ? [status < 400 || MAILROOM_ID.test(params.id) ? params.id : '[withheld]'] : [];
    const made = status < 300 && request.method === 'POST' && /^\/emails(\/bulk)?$/.test(request.routeOptions.url ?? '')
      ? [...text.matchAll(ID_FIELD)].map((match) => match[1]!) : [];
    const code = status >= 400 ? ERROR_CODE.exec(text)?.[1] : undefined;
    try {
      await audit.record({
        accountId: principal.accountId,
        ...stamp,
        target: [...named, ...made].join(' ').slice(0, 30_000) || null,
        outcome: status < 400 ? 'ok' : status < 500 ? 'refused' : 'failed',
        status: code ? `${status} ${code}` : String(status),
      });
    } catch (error) {
      // The action is done and answered as it ended; the missing entry is an operator's alarm.
      log.error({ err: error, accountId: principal.accountId }, 'audit: an entry could not be written');
    }
    return payload;
  };
}
