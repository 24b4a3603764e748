/**
 * The non-standard, human-readable bounce formats, as data. Each MTA writes the failed address on
 * a line of its own making; the text between one such line and the next is that recipient's
 * diagnostic. Patterns name the address group `addr`, and may name the rest of the line `rest`
 * when the MTA writes the reason on the same line.
 */
export interface RecipientLine {
  id: string;
  /** Who writes it: documentation for whoever adds the next one. */
  seenIn: string;
  pattern: RegExp;
  /** The line says why as well as who ("Invalid final delivery userid: addr"): it opens the diagnostic. */
  keepLine?: boolean;
}

const A = String.raw`(?<addr>[^\s<>"'()\[\],;:]+@[\w.-]+\w)`;

export const recipientLines: readonly RecipientLine[] = [
  { id: 'exchange-on-date', keepLine: true, seenIn: 'Exchange 2000/2003: "user@example.com on 4/29/01 11:34 PM"', pattern: new RegExp(String.raw`^\s*<?${A}>?\s+on\s+(?:\w+,?\s+)?\d`, 'i') },
  { id: 'recipient-field', seenIn: 'Messaging Server, KDDI, ezweb, MailMarshal, OpenSMTPD, Domino: "Recipient: <addr>", "Recipient address: addr"', pattern: new RegExp(String.raw`^\s*(?:original |final[- ])?recipient(?:\s+address)?\s*:\s*(?:rfc822;\s*)?<?${A}>?(?<rest>.*)$`, 'i') },
  { id: 'could-not-deliver-to', keepLine: true, seenIn: 'KDDI/au, InterScan, DragonFly, sendmail variants: "Could not be delivered to: <addr>", "Unable to deliver message to <addr>"', pattern: new RegExp(String.raw`(?:could not be delivered to|unable to deliver (?:message |mail )?to|error delivering your mail to|delivery to the following recipients? (?:failed|was aborted)[^:]*?:?)\s*:?\s*<?${A}>?(?<rest>.*)$`, 'i') },
  { id: 'was-not-delivered-to', keepLine: true, seenIn: 'Gmail, Google Workspace: "Your message wasn\'t delivered to addr because ..."', pattern: new RegExp(String.raw`(?:wasn't|was not|couldn't be|could not be) delivered to\s+<?${A}>?`, 'i') },
  { id: 'invalid-userid', keepLine: true, seenIn: 'IMail: "Invalid final delivery userid: addr"', pattern: new RegExp(String.raw`^\s*(?:invalid final delivery userid|unknown user|user not found)\s*:\s*<?${A}>?(?<rest>.*)$`, 'i') },
  { id: 'address-then-colon-text', seenIn: 'Postfix text part, MXLogic, qmail variants: "<addr>: 550 ..."', pattern: new RegExp(String.raw`^\s*<${A}>\s*:\s*(?<rest>\S.*)$`) },
  { id: 'address-alone', seenIn: 'Exim, Gmail, qmail "<addr>:", GMX "\\"addr\\":", Notes, Biglobe, mail.ru, m-FILTER', pattern: new RegExp(String.raw`^\s*(?:[*•]\s*)?["<]*${A}[">]*\s*:?\s*$`) },
  { id: 'address-colon-text', seenIn: 'Exim variants, 1&1: "addr: SMTP error ..."', pattern: new RegExp(String.raw`^\s*${A}\s*:\s+(?<rest>\S.*)$`) },
  { id: 'rcpt-to-transcript', keepLine: true, seenIn: 'InterScan MSS, ezweb, Courier, Postfix "errors from" notices: SMTP transcripts ">>> RCPT TO:<addr>", " In:  RCPT TO:<addr>"', pattern: new RegExp(String.raw`^\s*(?:sent\s*)?(?:<<<|>>>|In:)?\s*RCPT TO:\s*<?${A}>?`, 'i') },
  { id: 'address-bracketed-reason', seenIn: 'Mail2000 and other Sendmail-alikes: "addr [User unknown]"', pattern: new RegExp(String.raw`^\s*<?${A}>?\s+\[(?<rest>[^\]]+)\]\s*$`) },
  { id: 'recipients-returned-errors', keepLine: true, seenIn: 'X6-style gateways: "The following recipients returned permanent errors: addr. Reason: ..."', pattern: new RegExp(String.raw`recipients returned (?:permanent|temporary) errors:\s*<?${A}>?`, 'i') },
  { id: 'rejected-recipient', keepLine: true, seenIn: 'X6-style gateways: "SMTP Server <host> rejected recipient <addr> (Error following RCPT command)"', pattern: new RegExp(String.raw`rejected recipient\s+<?${A}>?`, 'i') },
  { id: 'status-address-list', keepLine: true, seenIn: 'Zoho: "[Status: Error, Address: <addr>, ResponseCode 421, , Host not reachable.]"', pattern: new RegExp(String.raw`\bAddress:\s*<${A}>`, 'i') },
  { id: 'sendmail-transcript', seenIn: 'Sendmail (V5 and V8) transcripts: "554 <addr>... 550 Host unknown"', pattern: new RegExp(String.raw`^\s*(?:[45]\d\d[ -])?<?${A}>?\.\.\.\s*(?<rest>.*)$`) },
  { id: 'address-then-text', seenIn: 'Zoho: "addr Invalid Address, ERROR_CODE :550, ..."', pattern: new RegExp(String.raw`^\s*${A}\s+(?<rest>[A-Za-z(].*)$`) },
];

/**
 * Where the returned message starts inside the text, so that its headers and body are not read as
 * the report. The first marker found wins.
 */
export const originalMessageMarkers: readonly RegExp[] = [
  /^-+ ?This is a copy of (?:the|your) message/im,
  /^-+ ?(?:Original message|Returned Message|original mail info|original message|Below this line is a copy)/im,
  /^--- Below this line is a copy of the message/im,
  /^-+ ?The header of the original message is following/im,
  /^Included is a copy of the message header/im,
  /^Message headers follow/im,
  /^Original message follows/im,
  /^\s*-+ ?(?:Original message|Undelivered message|Unsent message) (?:follows|header)/im,
  /^\s*-{3,}\s*Original Message\s*-{3,}/im,
  /^-+ ?(?:Returned|Original) mail\b/im,
  /^\s*\*+\s*End of message\s*\*+/im,
];
