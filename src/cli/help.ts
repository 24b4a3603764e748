/** The command line's help: USAGE for `mailroom help`, one entry per command for `mailroom COMMAND --help`. */
export const USAGE = `mailroom: a self-hosted Email API

Server and administration (on the embedded database they run inside a running server, over
<dataDir>/admin.sock; on PostgreSQL, or with no server running, they open the database):
  mailroom start [--roles api,worker] [--config FILE]   run Mailroom
  mailroom migrate [--config FILE]                      apply database migrations and exit
  mailroom accounts list | create NAME [--hipaa] | suspend NAME | reinstate NAME
  mailroom accounts limits NAME [--per-second N|default] [--per-day N|default]   show or set rate limits (0 = none)
  mailroom accounts allow-ip NAME RANGE | disallow-ip NAME RANGE | list-ip NAME   address ranges for SMTP IP credentials
  mailroom keys create --account NAME [--operator NAME] [--name LABEL] [--scopes send,read,admin]
  mailroom keys list --account NAME | revoke ID --account NAME
  mailroom operators create NAME --account A [--password] [--admin] | passwd NAME --account A | list --account A
                                                         console sign-in (the password from MAILROOM_OPERATOR_PASSWORD, standard input or a prompt)
  mailroom keys rotate-encryption                        re-wrap every stored key and secret with the current MAILROOM_ENCRYPTION_KEY
  mailroom domains add DOMAIN --account NAME [--verified] [--ed25519] | list --account NAME
  mailroom bounce parse FILE...                          one JSON line per returned message (a file or an mbox)
  mailroom secrets rotate | status                       re-seal stored secrets with the current key; count them per key
  mailroom audit verify [--account NAME]                 check the audit log's hash chains (HIPAA accounts)

Clients of the HTTP API (MAILROOM_URL, default http://127.0.0.1:3000, and MAILROOM_API_KEY):
  mailroom send --from A --to B --subject S --text T|--html H [--template ID --placeholders JSON]
  mailroom send FILE.json|FILE.eml                      a send request as JSON, or a message sent as its parsed fields
  mailroom send-bulk --csv FILE --template ID [--from A] [--rate N] [--batch-size N]   one message per row, resumable
  mailroom tail [--type DELIVERED,BOUNCED,...] [--after EVENT_ID]   live events, one line each
  mailroom doctor                                       check the configuration, ports, database, clock and DNS
  mailroom templates push DIR|FILE | pull [DIR]         keep templates in a repository
  mailroom suppressions import FILE.csv [--reason R] | export

  --json prints machine-readable output; mailroom help COMMAND or mailroom COMMAND --help for more.
Settings come from MAILROOM_* variables or mailroom.config.json (see README).`;

const CLIENT_NOTE = 'Talks to MAILROOM_URL (default http://127.0.0.1:3000) with MAILROOM_API_KEY. --json prints the API\'s answers as JSON.';

export const COMMAND_HELP: Record<string, string> = {
  start: 'mailroom start [--roles api,worker,smtp,mx] [--config FILE]\n  Runs Mailroom. On the embedded database it also listens on <dataDir>/admin.sock (mode 0600) for admin commands.',
  migrate: 'mailroom migrate [--config FILE]\n  Applies the database migrations and exits.',
  accounts: 'mailroom accounts list | create NAME [--hipaa] | suspend NAME | reinstate NAME\n' +
    'mailroom accounts limits NAME [--per-second N|default] [--per-day N|default]\n' +
    'mailroom accounts allow-ip NAME RANGE | disallow-ip NAME RANGE | list-ip NAME',
  keys: 'mailroom keys create --account NAME [--operator NAME] [--name LABEL] [--scopes send,read,admin]\n' +
    'mailroom keys list --account NAME | revoke ID --account NAME\nmailroom keys rotate-encryption',
  operators: 'mailroom operators create NAME --account A [--password] [--admin] | passwd NAME --account A | list --account A\n' +
    '  The password comes from MAILROOM_OPERATOR_PASSWORD, the first line of standard input, or a prompt; it is read here, then sent to the server when it runs the command.',
  domains: 'mailroom domains add DOMAIN --account NAME [--verified] [--ed25519] | list --account NAME',
  bounce: 'mailroom bounce parse FILE...\n  Prints one JSON line per returned message: {file, index, bounce, recipients}. A FILE is one message\n  (index 0) or an mbox file, read as each of its messages in order.',
  secrets: 'mailroom secrets rotate | status',
  audit: 'mailroom audit verify [--account NAME]',
  send: 'mailroom send --from A --to B --subject S (--text T | --html H) [--template ID --placeholders JSON]\n' +
    'mailroom send FILE.json   a send request as POST /emails takes it\n' +
    'mailroom send FILE.eml    a MIME message, sent as its parsed fields (from, to, cc, subject, text, html, attachments, reply-to); the API has no raw-MIME route, so its own headers are not kept\n' +
    `  Prints the message id. ${CLIENT_NOTE}`,
  'send-bulk': 'mailroom send-bulk --csv FILE --template ID [--from A] [--rate N] [--batch-size N]\n' +
    '  One message per CSV row: the column email (or to) is the recipient, the other columns its placeholders.\n' +
    '  Sent through POST /emails/bulk in batches (default 100), at most N messages a second with --rate.\n' +
    '  Resumable: FILE.mailroom-progress records finished batches; each batch carries an Idempotency-Key made of\n' +
    '  the file\'s SHA-256 and the batch number, so a rerun after an interruption skips finished batches and\n' +
    `  replays an interrupted one without sending anyone twice. ${CLIENT_NOTE}`,
  tail: 'mailroom tail [--type DELIVERED,BOUNCED,...] [--after EVENT_ID]\n' +
    `  Follows GET /events/stream and prints one line per event: time, type, message id, recipient. ${CLIENT_NOTE}`,
  doctor: 'mailroom doctor [--config FILE]\n' +
    '  Checks the configuration, the HTTP and SMTP ports, the database (through /readyz), the clock (against the\n' +
    `  server's Date header) and each domain's DNS records. One line per check: OK, WARN or FAIL; exit 1 on a FAIL. ${CLIENT_NOTE}`,
  templates: 'mailroom templates push DIR|FILE\nmailroom templates pull [DIR]\n' +
    '  A template is NAME.json ({"subject", "defaults"?, "text"?, "html"?}), optionally with NAME.html and NAME.txt\n' +
    '  beside it holding the parts. push creates or updates each by name, and leaves unchanged ones alone (no new\n' +
    `  version); pull writes every template of the account that way (default directory: templates). ${CLIENT_NOTE}`,
  suppressions: 'mailroom suppressions import FILE.csv [--reason R]\nmailroom suppressions export\n' +
    `  import posts the CSV to POST /suppressions/import; export prints GET /suppressions/export.csv. ${CLIENT_NOTE}`,
};
