/**
 * Text that reaches plandb from outside (approver, comment, reason, actor in signals and updates):
 * validated and capped, because it is stored in Temporal history, evidence rows and logs. Pure.
 */

/** Longest accepted comment or reason, in characters. */
export const MAX_TEXT = 1024;
/** Longest accepted name (approver, actor). */
export const MAX_NAME = 128;

// C0 controls (NUL included: jsonb and text refuse it), DEL and C1 controls; tab and newline are fine in comments.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** Why `value` is not acceptable text for `field`, or null. Undefined is fine unless `required`. */
export function checkText(
  field: string,
  value: unknown,
  opts: { max?: number; required?: boolean; singleLine?: boolean } = {},
): string | null {
  const max = opts.max ?? MAX_TEXT;
  if (value === undefined || value === null) return opts.required ? `"${field}" is required` : null;
  if (typeof value !== 'string') return `"${field}" must be text, got ${typeof value}`;
  if (opts.required && !value.trim()) return `"${field}" must not be empty`;
  if (value.length > max) return `"${field}" is ${value.length} characters long (at most ${max})`;
  if (CONTROL.test(value) || (opts.singleLine && /[\t\n]/.test(value))) return `"${field}" contains control characters`;
  return null;
}

/** A short, storable rendering of untrusted text: controls escaped, cut to `max` characters. */
export function excerpt(value: unknown, max = 120): string {
  const s = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const escaped = s
    .slice(0, max + 1)
    .replace(new RegExp(CONTROL.source, 'g'), (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > max ? `${escaped.slice(0, max)}… (${s.length} characters)` : escaped;
}
