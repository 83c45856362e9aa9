/**
 * `plandb dev`: embedded PostgreSQL (one database per configured environment), demo data where the
 * legacy table is empty, the Temporal dev server with its Web UI, and a worker — one process.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../config/load';
import type { PlandbConfig } from '../config/schema';
import { createPool } from '../db/connection';
import { legacyBounds, legacyTableExists } from '../db/legacy-reader';
import { seedDemo } from '../db/seed';
import { logger } from '../logging/logger';
import { startWorker } from '../worker/run-worker';
import { installTemporalRuntime, temporalMetricsAddressFromEnv } from '../worker/temporal-runtime';
import { RunningPostgres, startEmbeddedPostgres } from './embedded-postgres';
import { projectRoot } from '../platform/project-root';
import { stateDir } from './paths';
import { startTemporalDevServer } from './temporal-dev-server';

export interface DevStackOptions {
  configPath?: string;
  pgPort: number;
  temporalPort: number;
  uiPort: number;
  demo: { plans: number; versions: number; series: number; bad: number };
  say: (line: string) => void;
}

/** Copies the example config on first run so a fresh clone starts with no set-up. */
function ensureConfigFile(configPath: string | undefined, say: (line: string) => void): string {
  const target = path.resolve(configPath ?? process.env.PLANDB_CONFIG ?? 'plandb.config.json');
  if (!fs.existsSync(target)) {
    fs.copyFileSync(path.join(projectRoot(), 'plandb.config.example.json'), target);
    say(`created ${path.relative(process.cwd(), target)} from plandb.config.example.json`);
  }
  return target;
}

async function databaseExists(admin: pg.Pool, name: string): Promise<boolean> {
  const res = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return res.rowCount === 1;
}

export async function runDevStack(opts: DevStackOptions): Promise<void> {
  const say = opts.say;
  // The Temporal runtime must be configured before the dev server or the worker creates it.
  installTemporalRuntime(logger, 'INFO', { metricsAddress: temporalMetricsAddressFromEnv(process.env) });
  const configPath = ensureConfigFile(opts.configPath, say);
  const fileConfig = loadConfig({ path: configPath });
  // Whatever was started is stopped again, in reverse order, however the run ends.
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const postgres = await startEmbeddedPostgres({
      dataDir: path.join(stateDir(), 'pg', 'data'),
      port: opts.pgPort,
      persistent: true,
      log: (m) => logger.debug({ event: 'embedded_postgres', message: m }),
    });
    cleanups.push(() => postgres.stop());
    say(`PostgreSQL 15 (embedded) on 127.0.0.1:${postgres.port}, data in .plandb/pg`);
    const exports = await prepareDatabases(postgres, fileConfig, opts.demo, say);

    const temporal = await startTemporalDevServer({
      port: opts.temporalPort,
      uiPort: opts.uiPort,
      dbFilename: path.join(stateDir(), 'temporal.db'),
      log: say,
    });
    cleanups.push(() => temporal.stop());
    say(`Temporal dev server on ${temporal.address} (CLI from ${temporal.cliSource}); workflows kept in .plandb/temporal.db`);

    const config: PlandbConfig = { ...fileConfig, temporal: { ...fileConfig.temporal, address: temporal.address } };
    const worker = await startWorker(config);
    cleanups.push(() => worker.shutdown());
    const envs = Object.keys(config.environments);
    say(
      [
        '',
        `Temporal Web UI: ${temporal.uiUrl}`,
        `Worker on task queue "${config.temporal.taskQueue}" for environments: ${envs.join(', ')}`,
        `Metrics: http://${worker.metricsAddress}/metrics` +
          (worker.temporalMetricsAddress ? ` (Temporal SDK: http://${worker.temporalMetricsAddress}/metrics)` : ''),
        '',
        'Start a workflow from the UI: Workflows -> Start Workflow, then',
        `  Workflow ID: plandb-${envs[0]}-preflight   Task Queue: ${config.temporal.taskQueue}   Workflow Type: preflight`,
        `  Input (JSON): {"environment":"${envs[0]}"}`,
        'or from another terminal (with the exports below):',
        `  npx plandb preflight --env ${envs[0]}`,
        '',
        ...exports,
        `export TEMPORAL_ADDRESS=${temporal.address}`,
        '',
        'Ctrl-C stops the worker, Temporal and PostgreSQL.',
      ].join('\n'),
    );
    await worker.done;
  } finally {
    say('stopping…');
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: Error) => say(`stop failed: ${err.message}`));
  }
}

/** One database per environment on the embedded server (unless its URL variable is already set), seeded when empty. */
async function prepareDatabases(
  postgres: RunningPostgres,
  config: PlandbConfig,
  demo: DevStackOptions['demo'],
  say: (line: string) => void,
): Promise<string[]> {
  const admin = createPool(postgres.urlFor('postgres'), { max: 1 });
  const exports: string[] = [];
  try {
    for (const [env, envConfig] of Object.entries(config.environments)) {
      if (process.env[envConfig.databaseUrlEnv]) {
        say(`${env}: using ${envConfig.databaseUrlEnv} from your environment`);
        continue;
      }
      const database = `plandb_${env.replace(/-/g, '_')}`;
      if (!(await databaseExists(admin, database))) await postgres.createDatabase(database);
      process.env[envConfig.databaseUrlEnv] = postgres.urlFor(database);
      exports.push(`export ${envConfig.databaseUrlEnv}=${postgres.urlFor(database)}`);
      await seedIfEmpty(postgres.urlFor(database), env, demo, say);
    }
  } finally {
    await admin.end();
  }
  return exports;
}

async function seedIfEmpty(url: string, env: string, demo: DevStackOptions['demo'], say: (l: string) => void): Promise<void> {
  const pool = createPool(url, { max: 2 });
  try {
    if ((await legacyTableExists(pool)) && (await legacyBounds(pool)).artifacts > 0) return;
    const result = await seedDemo(pool, { ...demo, seed: 1 });
    say(`${env}: seeded ${result.inserted} demo artifacts (${demo.bad} malformed) into plan_artifacts`);
  } finally {
    await pool.end();
  }
}
