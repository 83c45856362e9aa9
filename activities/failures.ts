import { ApplicationFailure } from '@temporalio/common';
import { ConfigError } from '../config/load';
import { MigrationDriftError } from '../db/migrator';

/** Errors no retry can fix (bad config, drift) become non-retryable failures with their message. */
export function asNonRetryable(err: unknown): unknown {
  if (err instanceof ConfigError || err instanceof MigrationDriftError) {
    return ApplicationFailure.nonRetryable(err.message, err.name);
  }
  return err;
}

/** Wraps an activity so known-permanent errors stop retries instead of burning them. */
export function permanentErrorsFailFast<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (err) {
      throw asNonRetryable(err);
    }
  };
}
