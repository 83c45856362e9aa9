/**
 * What the backup and restore activities share around pg_dump and pg_restore: the connection as PG*
 * variables, tool errors no retry fixes, and reading a dump's TOC.
 */
import { ApplicationFailure } from '@temporalio/common';
import { resolveDatabaseUrl } from '../config/environment';
import type { EnvironmentConfig } from '../config/schema';
import { parseToc, TocEntry } from '../db/dump-toc';
import { pgEnvFromUrl, PgTools, PgToolsError, runPgTool } from '../db/pg-tools';

/** The environment's database as PG* variables: how pg_dump and pg_restore get it (never as arguments). */
export function connectionOf(environment: string, envConfig: EnvironmentConfig, env: NodeJS.ProcessEnv): Record<string, string> {
  return pgEnvFromUrl(resolveDatabaseUrl(envConfig, environment, env));
}

/** Missing or too-old tools need an install, not a retry. */
export async function permanentToolErrors<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof PgToolsError ? ApplicationFailure.nonRetryable(err.message, err.name) : err;
  }
}

export async function readToc(tools: PgTools, file: string, signal?: AbortSignal): Promise<TocEntry[]> {
  return parseToc(await runPgTool(tools.pgRestore, ['--list', '--verbose', file], { signal }));
}
