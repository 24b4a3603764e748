import { ApiProblem } from './api.js';

/**
 * The API's details[] as messages per field, for the form controls to show at themselves: a
 * field of a nested value (`defaults.x`, `placeholders.y`) also counts for its parent, so that
 * the one control that holds it shows every problem inside it.
 */
export function fieldErrorsOf(problem: unknown): Record<string, string> {
  if (!(problem instanceof ApiProblem)) return {};
  const errors: Record<string, string> = {};
  const add = (field: string, message: string) => {
    errors[field] = errors[field] ? `${errors[field]}; ${message}` : message;
  };
  for (const detail of problem.details) {
    const message = detail.field.includes('.') ? `${detail.field.slice(detail.field.indexOf('.') + 1)} ${detail.message}` : detail.message;
    add(detail.field, detail.message);
    const parent = detail.field.split(/[.[]/)[0];
    if (parent && parent !== detail.field) add(parent, message);
  }
  return errors;
}

/** Whether every detail of the problem is shown at a field of the form (then no banner repeats them). */
export function onlyFieldErrors(problem: unknown, fields: readonly string[]): boolean {
  return problem instanceof ApiProblem && problem.details.length > 0 && problem.details.every((detail) => fields.includes(detail.field.split(/[.[]/)[0] ?? ''));
}
