/**
 * Reads and validates `plandb.config.json` at start-up (SPEC §5), then applies what the environment
 * overrides: capacity limits for every environment and the Temporal connection
 * (config/temporal-connection.ts).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_TASK_QUEUE } from '../model/ids';
import { ConfigError, configErrorMap, formatIssues } from './errors';
import { locateJsonError } from './json-position';
import { resolveTemporalConnection } from './temporal-connection';
import { plandbConfigFileSchema, type PlandbConfig, type PlandbConfigFile, type TemporalConfig } from './schema';

export { ConfigError } from './errors';

export const DEFAULT_CONFIG_PATH = './plandb.config.json';
export const EXAMPLE_CONFIG_PATH = './plandb.config.example.json';
export const DEFAULT_TEMPORAL: TemporalConfig = {
  address: 'localhost:7233',
  namespace: 'default',
  taskQueue: DEFAULT_TASK_QUEUE,
};

export interface LoadConfigOptions {
  path?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig(opts: LoadConfigOptions = {}): PlandbConfig {
  const env = opts.env ?? process.env;
  const path = resolve(opts.path ?? nonEmpty(env.PLANDB_CONFIG) ?? DEFAULT_CONFIG_PATH);
  const file = validate(parseJson(readConfigText(path), path), path);
  return {
    temporal: resolveTemporal(file, env),
    environments: applyCapacityOverrides(file.environments, env),
  };
}

function readConfigText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ConfigError(
        `config file ${path} not found. Create it from the example ` +
          `(cp ${EXAMPLE_CONFIG_PATH} ${DEFAULT_CONFIG_PATH}) or point PLANDB_CONFIG at yours.`,
      );
    }
    throw new ConfigError(`cannot read config file ${path}: ${code ?? (error as Error).message}`);
  }
}

function parseJson(text: string, path: string): unknown {
  // Editors on Windows may save a byte-order mark, which JSON.parse rejects.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch {
    const location = locateJsonError(body);
    const where = location ? ` at line ${location.line}, column ${location.column}: ${location.reason}` : '';
    throw new ConfigError(`config file ${path} is not valid JSON${where}`);
  }
}

function validate(document: unknown, path: string): PlandbConfigFile {
  const result = plandbConfigFileSchema.safeParse(document, { error: configErrorMap });
  if (result.success) return result.data;
  const issues = formatIssues(result.error.issues);
  throw new ConfigError(`config file ${path} is invalid:\n${issues.join('\n')}`, issues);
}

function resolveTemporal(file: PlandbConfigFile, env: NodeJS.ProcessEnv): TemporalConfig {
  const fallback = {
    address: file.temporal?.address ?? DEFAULT_TEMPORAL.address,
    namespace: file.temporal?.namespace ?? DEFAULT_TEMPORAL.namespace,
  };
  return { ...resolveTemporalConnection(fallback, env), taskQueue: file.temporal?.taskQueue ?? DEFAULT_TEMPORAL.taskQueue };
}

function applyCapacityOverrides(
  environments: PlandbConfigFile['environments'],
  env: NodeJS.ProcessEnv,
): PlandbConfig['environments'] {
  const maxRows = positiveIntegerVariable(env, 'PLANS_DB_MAX_ROWS');
  const alertThreshold = positiveIntegerVariable(env, 'PLANS_DB_GUARD_ALERT_THRESHOLD');
  return Object.fromEntries(
    Object.entries(environments).map(([name, environment]) => [
      name,
      {
        ...environment,
        capacity: {
          maxRows: maxRows ?? environment.capacity.maxRows,
          alertThreshold: alertThreshold ?? environment.capacity.alertThreshold,
        },
      },
    ]),
  );
}

function positiveIntegerVariable(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`environment variable ${name} must be a positive integer (got ${JSON.stringify(raw)})`);
  }
  return value;
}

/** Trimmed value; empty counts as unset, as `VAR=` in a compose or env file usually means "no value". */
function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
