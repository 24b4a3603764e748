/** The commands that manage the installation through its database (the others are `start`, `migrate` and the HTTP clients). */
export const ADMIN_COMMANDS: ReadonlySet<string> = new Set(['accounts', 'keys', 'domains', 'operators', 'audit', 'secrets']);
