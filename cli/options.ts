import { MAX_CATCH_UP_PASSES } from '../model/catch-up';
import os from 'node:os';
import { InvalidArgumentError } from 'commander';
import { MAX_BATCH_SIZE, MIN_BATCH_SIZE } from '../workflows/definitions';
import { checkEnvironmentName } from '../model/ids';
import { parseSince } from '../model/legacy-usage';
import { MAX_SHARDS } from '../model/backfill';
import { CUTOVER_MODES, type CutoverMode } from '../model/migration';
import { checkResumeFrom, checkRetryErrors } from '../workflows/definitions';
import { checkCron, checkScheduleId } from './schedules';

/** Who runs the command, when --by does not say: the OS user ("unknown" where the system has no name for it). */
export function osUser(): string {
  if (process.env.USER) return process.env.USER;
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** Commander argument parsers that reject bad values with a message naming the expectation. */
export function positiveInt(value: string): number {
  return intInRange(1, Number.MAX_SAFE_INTEGER)(value);
}

export function nonNegativeInt(value: string): number {
  return intInRange(0, Number.MAX_SAFE_INTEGER)(value);
}

/** `online` or `offline` (the migration's cut-over policy). */
export function cutoverMode(value: string): CutoverMode {
  if (!(CUTOVER_MODES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected ${CUTOVER_MODES.join(' or ')}, got "${value}"`);
  return value as CutoverMode;
}

/** A number of hours >= 0, fractions allowed (`0.01` is 36 s: a short post-check for a demo or a test). */
export function nonNegativeHours(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !Number.isFinite(n))
    throw new InvalidArgumentError(`expected a number of hours >= 0, got "${value}"`);
  return n;
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
export const shardCount = intInRange(1, MAX_SHARDS);

/** `--resume-from`: a previous backfill run id, or `artifact:<id>` to start after that artifact. */
export function resumeFrom(value: string): string {
  const problem = checkResumeFrom(value);
  if (problem) throw new InvalidArgumentError(problem);
  return value;
}

/** `--retry-errors`: the id of the run whose errors to retry. */
export function retryErrors(value: string): string {
  const problem = checkRetryErrors(value);
  if (problem) throw new InvalidArgumentError(problem);
  return value;
}

/** `--cron`: a 5-field cron expression (UTC). */
export function cronExpression(value: string): string {
  const problem = checkCron(value);
  if (problem) throw new InvalidArgumentError(problem);
  return value.trim();
}

export function scheduleId(value: string): string {
  const problem = checkScheduleId(value);
  if (problem) throw new InvalidArgumentError(problem);
  return value;
}

/** `--catch-up-passes`: 0 (none) up to MAX_CATCH_UP_PASSES. */
export const catchUpPasses = intInRange(0, MAX_CATCH_UP_PASSES);

/** `--since`: an ISO time, a reading id or "cutover" (also `plandb schedule legacy-usage`). */
export function sinceOption(value: string): string {
  const parsed = parseSince(value);
  if ('error' in parsed) throw new InvalidArgumentError(parsed.error);
  return value;
}
