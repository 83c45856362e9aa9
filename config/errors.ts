/**
 * Configuration errors and the wording of schema issues: one line per problem, the dotted path of the
 * bad key first (`environments.staging.backfill.batchSize: must be <= 50000`). No message repeats the
 * rejected value, since it may be a credential typed into the wrong field.
 */
import { z } from 'zod';

export class ConfigError extends Error {
  /** One `path: problem` line per schema issue; empty for errors that are not about a key. */
  readonly issues: readonly string[];

  constructor(message: string, issues: readonly string[] = []) {
    super(message);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

const TYPE_NAMES: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
};

/** Per-parse error map for issues whose schema did not set its own message. */
export const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      if (issue.expected === 'int' && typeof issue.input === 'number') return 'must be an integer';
      return `must be ${TYPE_NAMES[issue.expected] ?? issue.expected} (got ${describeType(issue.input)})`;
    case 'too_big':
      if (issue.origin === 'array') return `must have at most ${issue.maximum} items`;
      if (issue.origin === 'string') return `must have at most ${issue.maximum} characters`;
      return `must be ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`;
    case 'too_small':
      if ((issue.origin === 'array' || issue.origin === 'string') && issue.minimum === 1) return 'must not be empty';
      if (issue.origin === 'array') return `must have at least ${issue.minimum} items`;
      if (issue.origin === 'string') return `must have at least ${issue.minimum} characters`;
      return `must be ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'unrecognized_keys': {
      // The strict object that raised it knows its keys: listing them turns a typo into a quick fix.
      const shape = (issue.inst?._zod.def as { shape?: Record<string, unknown> } | undefined)?.shape;
      return shape ? `unknown key (allowed: ${Object.keys(shape).join(', ')})` : 'unknown key';
    }
    case 'invalid_key':
      return 'is not an allowed key';
    default:
      return 'is invalid';
  }
};

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((segment, index) => {
      if (typeof segment === 'number') return `[${segment}]`;
      const key = String(segment);
      if (!/^[A-Za-z_$][\w$-]*$/.test(key)) return `[${JSON.stringify(key)}]`;
      return index === 0 ? key : `.${key}`;
    })
    .join('');
}

/** One line per issue; an unknown-keys issue becomes one line per key, with the key in the path. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${formatPath([...issue.path, key])}: ${issue.message}`);
    }
    if (issue.code === 'invalid_key') {
      // The key's own issue carries the schema's explanation of what a valid key looks like.
      const detail = issue.issues[0]?.message;
      return [`${formatPath(issue.path)}: ${detail ?? issue.message}`];
    }
    return [`${formatPath(issue.path)}: ${issue.message}`];
  });
}
