/**
 * Instruction templates: the text frame around an example's fields, editable per task. The syntax
 * is a small, logic-less subset of Mustache: `{{field}}` inserts a value, `{{#field}}...{{/field}}`
 * keeps its body only when the field is non-empty. Nothing else is interpreted, so a clinician can
 * edit a template without learning a language, and a template cannot run code.
 */
import { UserError } from '../common/errors.js';

export type TemplateFields = Readonly<Record<string, string | undefined>>;

const SECTION = /\{\{#(\w+)\}\}([\s\S]*?)\{\{\/\1\}\}/g;
const PLACEHOLDER = /\{\{(\w+)\}\}/g;

export function renderTemplate(template: string, fields: TemplateFields): string {
  const withSections = template.replace(SECTION, (_, name: string, body: string) =>
    fields[name] !== undefined && fields[name] !== '' ? body : '',
  );
  return withSections.replace(PLACEHOLDER, (_, name: string) => fields[name] ?? '');
}

/** The field names a template uses, sections included. */
export function templateFields(template: string): Set<string> {
  const names = new Set<string>();
  for (const match of template.matchAll(/\{\{[#/]?(\w+)\}\}/g)) if (match[1]) names.add(match[1]);
  return names;
}

/**
 * Checks an edited template: it must use every required field (a template without `{{text}}`
 * would train on nothing) and only known ones (a typo would silently insert nothing).
 */
export function validateTemplate(
  taskName: string,
  template: string,
  required: readonly string[],
  known: readonly string[],
): void {
  const used = templateFields(template);
  const missing = required.filter((name) => !used.has(name));
  const unknown = [...used].filter((name) => !known.includes(name));
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`it must contain ${missing.map((n) => `{{${n}}}`).join(', ')}`);
  if (unknown.length > 0) {
    problems.push(`it uses unknown field(s) ${unknown.map((n) => `{{${n}}}`).join(', ')} (known: ${known.join(', ')})`);
  }
  const opened = (template.match(/\{\{#\w+\}\}/g) ?? []).length;
  const closed = (template.match(/\{\{\/\w+\}\}/g) ?? []).length;
  if (opened !== closed) problems.push('every {{#field}} section needs its {{/field}}');
  if (problems.length > 0) {
    throw new UserError('INVALID_ARGUMENT', `The ${taskName} template is not usable: ${problems.join('; ')}.`);
  }
}
