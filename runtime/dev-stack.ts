/**
 * `plandb dev`: embedded PostgreSQL (one database per configured environment), demo data where the
 * legacy table is empty, moto as the S3 storage of backups that name no endpoint, the Temporal dev
 * server with its Web UI, and a worker — one process.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { s3Target } from '../activities/backup-s3';
import { loadConfig } from '../config/load';
import type { BackupConfig, PlandbConfig } from '../config/schema';
import { createPool } from '../db/connection';
import { legacyBounds, legacyTableExists } from '../db/legacy-reader';
import { seedDemo } from '../db/seed';
import { createStatementsExtension } from '../db/legacy-usage';
import { logger } from '../logging/logger';
import { RunningWorker, startWorker } from '../worker/run-worker';
import { installTemporalRuntime, temporalMetricsAddressFromEnv } from '../worker/temporal-runtime';
import { RunningPostgres, startEmbeddedPostgres } from './embedded-postgres';
import { MOTO_CREDENTIALS, MOTO_REGION, RunningMoto, startMoto } from './moto';
import { projectRoot } from '../platform/project-root';
import { stateDir } from './paths';
import { startTemporalDevServer } from './temporal-dev-server';

export interface DevStackOptions {
  configPath?: string;
  /** Where PostgreSQL's data and Temporal's workflows are kept (default .plandb). */
  stateDir?: string;
  pgPort: number;
  temporalPort: number;
  uiPort: number;
  s3Port: number;
  demo: { plans: number; versions: number; series: number; bad: number };
  say: (line: string) => void;
}

export interface DevStack {
  /** The config file's, with the dev server's Temporal address. */
  config: PlandbConfig;
  uiUrl: string | null;
  /** moto's endpoint; null when no environment uploads to it. */
  s3Endpoint: string | null;
  /** `export NAME=value` lines that let a second terminal use the CLI against this stack. */
  exports: string[];
  worker: RunningWorker;
  /** Stops everything in reverse order of start. */
  stop(): Promise<void>;
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

export async function startDevStack(opts: DevStackOptions): Promise<DevStack> {
  const say = opts.say;
  const state = opts.stateDir ?? stateDir();
  const shown = path.relative(process.cwd(), state) || '.';
  // The Temporal runtime must be configured before the dev server or the worker creates it.
  installTemporalRuntime(logger, 'INFO', { metricsAddress: temporalMetricsAddressFromEnv(process.env) });
  const configPath = ensureConfigFile(opts.configPath, say);
  const fileConfig = loadConfig({ path: configPath });
  // Whatever was started is stopped again, in reverse order, however the run ends.
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    say('stopping…');
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((err: Error) => say(`stop failed: ${err.message}`));
  };
  try {
    const postgres = await startEmbeddedPostgres({
      dataDir: path.join(state, 'pg', 'data'),
      port: opts.pgPort,
      persistent: true,
      // So that `plandb legacy-usage` lists the statements that touch plan_artifacts.
      preloadLibraries: ['pg_stat_statements'],
      log: (m) => logger.debug({ event: 'embedded_postgres', message: m }),
    });
    cleanups.push(() => postgres.stop());
    say(`PostgreSQL 15 (embedded) on 127.0.0.1:${postgres.port}, data in ${path.join(shown, 'pg')}`);
    const exports = await prepareDatabases(postgres, fileConfig, opts.demo, say);

    const moto = await startBackupStorage(fileConfig, opts.s3Port, say);
    if (moto) {
      cleanups.push(() => moto.server.stop());
      exports.push(...moto.exports);
    }

    const temporal = await startTemporalDevServer({
      port: opts.temporalPort,
      uiPort: opts.uiPort,
      dbFilename: path.join(state, 'temporal.db'),
      log: say,
    });
    cleanups.push(() => temporal.stop());
    say(
      `Temporal dev server on ${temporal.address} (CLI from ${temporal.cliSource}); workflows kept in ${path.join(shown, 'temporal.db')}`,
    );
    exports.push(`export TEMPORAL_ADDRESS=${temporal.address}`);

    // The local dev server: a cluster's API key or certificates from the shell must not be sent to it.
    const config: PlandbConfig = {
      ...fileConfig,
      temporal: { ...fileConfig.temporal, address: temporal.address, namespace: temporal.namespace, credentials: undefined },
    };
    const worker = await startWorker(config);
    cleanups.push(() => worker.shutdown());
    return {
      config,
      uiUrl: temporal.uiUrl,
      s3Endpoint: moto?.server.endpoint ?? null,
      exports,
      worker,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function runDevStack(opts: DevStackOptions): Promise<void> {
  const stack = await startDevStack(opts);
  try {
    const { config, worker } = stack;
    const envs = Object.keys(config.environments);
    opts.say(
      [
        '',
        `Temporal Web UI: ${stack.uiUrl}`,
        `Worker on task queue "${config.temporal.taskQueue}" for environments: ${envs.join(', ')}`,
        `Metrics: http://${worker.metricsAddress}/metrics` +
          (worker.temporalMetricsAddress ? ` (Temporal SDK: http://${worker.temporalMetricsAddress}/metrics)` : ''),
        ...(stack.s3Endpoint ? [`Backup storage (moto, S3-compatible, in memory): ${stack.s3Endpoint}`] : []),
        '',
        'Start a workflow from the UI: Workflows -> Start Workflow, then',
        `  Workflow ID: plandb-${envs[0]}-preflight   Task Queue: ${config.temporal.taskQueue}   Workflow Type: preflight`,
        `  Input (JSON): {"environment":"${envs[0]}"}`,
        'or from another terminal (with the exports below):',
        `  npx plandb preflight --env ${envs[0]}`,
        '',
        ...stack.exports,
        '',
        `Ctrl-C stops the worker, Temporal${stack.s3Endpoint ? ', moto' : ''} and PostgreSQL.`,
      ].join('\n'),
    );
    await worker.done;
  } finally {
    await stack.stop();
  }
}

type MotoBackup = BackupConfig & { s3Uri: string; s3EndpointEnv: string };

/** An upload to an S3 URI through an endpoint variable that is not set: the dev stack's moto is the endpoint. */
function uploadsToMoto(backup: BackupConfig): backup is MotoBackup {
  return backup.enabled && backup.s3Uri !== undefined && backup.s3EndpointEnv !== undefined && !process.env[backup.s3EndpointEnv];
}

/**
 * Starts moto when an environment uploads its backups through an endpoint variable that is not set,
 * points that environment's s3*Env variables at it (dummy credentials) and creates its bucket. An
 * endpoint variable that is set means real storage: that environment is left alone.
 */
async function startBackupStorage(
  config: PlandbConfig,
  port: number,
  say: (line: string) => void,
): Promise<{ server: RunningMoto; exports: string[] } | null> {
  const targets: [string, MotoBackup][] = [];
  for (const [env, { backup }] of Object.entries(config.environments)) {
    if (uploadsToMoto(backup)) targets.push([env, backup]);
    else if (backup.s3Uri && backup.s3EndpointEnv) say(`${env}: uploading backups through ${backup.s3EndpointEnv} from your environment`);
  }
  if (!targets.length) return null;
  const server = await startMoto({ port, log: say });
  try {
    const values = new Map<string, string>();
    const buckets = new Set<string>();
    for (const [env, backup] of targets) {
      values.set(backup.s3EndpointEnv, server.endpoint);
      if (backup.s3RegionEnv) values.set(backup.s3RegionEnv, MOTO_REGION);
      if (backup.s3AccessKeyIdEnv) values.set(backup.s3AccessKeyIdEnv, MOTO_CREDENTIALS.accessKeyId);
      if (backup.s3SecretAccessKeyEnv) values.set(backup.s3SecretAccessKeyEnv, MOTO_CREDENTIALS.secretAccessKey);
      buckets.add(s3Target(backup.s3Uri, '').bucket);
      say(`${env}: backups upload to ${backup.s3Uri} on moto`);
    }
    for (const bucket of buckets) await server.createBucket(bucket);
    for (const [name, value] of values) process.env[name] = value;
    say(`moto (S3-compatible) on ${server.endpoint}, buckets: ${[...buckets].join(', ')}`);
    return { server, exports: [...values].map(([name, value]) => `export ${name}=${value}`) };
  } catch (err) {
    await server.stop();
    throw err;
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
    await createStatementsExtension(pool);
    if ((await legacyTableExists(pool)) && (await legacyBounds(pool)).artifacts > 0) return;
    const result = await seedDemo(pool, { ...demo, seed: 1 });
    say(`${env}: seeded ${result.inserted} demo artifacts (${demo.bad} malformed) into plan_artifacts`);
  } finally {
    await pool.end();
  }
}
