import { ensureOperator, requireAccount } from '../accounts/accounts.js';
import { listOperators, setOperatorPassword, setOperatorRole } from '../accounts/operators.js';
import { UsageError, type AdminHandler } from './adminContext.js';
import { auditOperatorCommand } from './audit.js';

const USAGE = 'mailroom operators create NAME --account A [--password] [--admin] | passwd NAME --account A | list --account A';

/** `mailroom operators ...`: who may sign in to the web console (SPEC section 13). The password comes from the client (password.ts). */
export const operatorsCommand: AdminHandler = async (args, options, { db, config, out, password, user }) => {
  const [action, name] = args;
  const account = options.account;
  if (!account) throw new UsageError(`--account NAME is required (${USAGE})`);
  switch (action) {
    case 'create':
    case 'passwd': {
      if (!name) throw new UsageError(`the operator's NAME is required (${USAGE})`);
      const role = options.admin ? 'admin' : null;
      if (action === 'create' && !options.password) {
        const operator = await ensureOperator(db, (await requireAccount(db, account)).id, name);
        if (role) await setOperatorRole(db, account, name, role);
        out.out(`operator ${operator.name} of account ${account} (no password: it cannot sign in to the console; "operators passwd" gives it one)`);
        return 0;
      }
      if (password === null) throw new UsageError('no password was given (MAILROOM_OPERATOR_PASSWORD, standard input or the prompt)');
      const operator = await setOperatorPassword(db, account, name, password, role);
      await auditOperatorCommand(db, config, user, account, `operators ${action}`, `operator:${operator.id}`);
      out.out(`operator ${operator.name} of account ${account} can sign in to the console (${operator.role}); its earlier sessions were signed out`);
      return 0;
    }
    case 'list':
    case undefined: {
      const listed = await listOperators(db, account);
      out.result(listed);
      for (const operator of listed) {
        const state = operator.lockedUntil && new Date(operator.lockedUntil) > new Date() ? `locked until ${operator.lockedUntil}` : operator.canSignIn ? 'can sign in' : 'no password';
        out.out(`${operator.name}\t${operator.role}\t${state}`);
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown action "operators ${action}" (${USAGE})`);
  }
};
