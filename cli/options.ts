import { InvalidArgumentError } from 'commander';
import { MAX_BATCH_SIZE, MIN_BATCH_SIZE } from '../workflows/definitions';
import { checkEnvironmentName } from '../workflows/ids';

/** Commander argument parsers that reject bad values with a message naming the expectation. */
export function positiveInt(value: string): number {
  return intInRange(1, Number.MAX_SAFE_INTEGER)(value);
}

export function nonNegativeInt(value: string): number {
  return intInRange(0, Number.MAX_SAFE_INTEGER)(value);
}

export function intInRange(min: number, max: number): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got ${value}`);
    }
    return n;
  };
}

export function environmentName(value: string): string {
  const problem = checkEnvironmentName(value);
  if (problem) throw new InvalidArgumentError(problem);
  return value;
}

export const batchSize = intInRange(MIN_BATCH_SIZE, MAX_BATCH_SIZE);

// Backfill run ids are the workflow's uuid4().
const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `--resume-from`: a previous backfill run id, or `artifact:<id>` to start after that artifact. */
export function resumeFrom(value: string): string {
  if (/^artifact:\d+$/.test(value) || RUN_ID.test(value)) return value;
  throw new InvalidArgumentError(`expected a previous backfill run id (a UUID, as \`plandb status\` shows) or artifact:<id>, got "${value}"`);
}
