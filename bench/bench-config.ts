/** The plandb config the benchmark's worker loads: one environment, `bench`, on the scratch database. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config/load';
import type { PlandbConfig } from '../config/schema';
import type { Cleanup } from './cleanup';

export const BENCH_ENVIRONMENT = 'bench';
const URL_VARIABLE = 'PLANDB_BENCH_DATABASE_URL';

export interface BenchConfig {
  config: PlandbConfig;
  /** Environment for the worker child: config path, database URL variable, Temporal address. */
  childEnv: NodeJS.ProcessEnv;
}

/**
 * process.env for talking to the dev server the bench started: the caller's own Temporal settings
 * (TEMPORAL_API_KEY, TEMPORAL_TLS_*, a temporal.toml profile) are for their cluster, not this one.
 * Writes a temporal.toml with an empty default profile into `dir` for it.
 */
export function devServerEnv(address: string, namespace: string, dir: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('TEMPORAL_') || name === 'TEMPORAL_CLI_PATH'),
  );
  // Not an empty file: @temporalio/envconfig 1.24 throws on a file without a [profile] table.
  const configFile = path.join(dir, 'temporal.toml');
  fs.writeFileSync(configFile, '[profile.default]\n');
  return { ...env, TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace };
}

/** The bench environment's migration policy: the online cut-over scenario's (bench/online-cutover.ts). */
const ONLINE_POLICY = {
  maintenance: { mode: 'db-flag' },
  cutover: 'online',
  // Gates measure the approver, not plandb: none here (a spot-check gate would sit inside the window).
  approval: { required: false },
  spotCheck: { required: false },
} as const;

export function writeBenchConfig(
  opts: { databaseUrl: string; temporalAddress: string; namespace: string; batchSize: number; shards: number },
  cleanup: Cleanup,
): BenchConfig {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-bench-config-'));
  cleanup.add('remove bench config', () => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'plandb.config.json');
  const document = {
    temporal: { taskQueue: 'plandb-bench' },
    environments: {
      [BENCH_ENVIRONMENT]: {
        databaseUrlEnv: URL_VARIABLE,
        backup: { enabled: false, dir: path.join(dir, 'backups') },
        // The tuner starts from --batch-size, whatever it is: its bounds widen to take it.
        backfill: { mode: 'normal', batchSize: opts.batchSize, tuning: tuningAround(opts.batchSize), shards: opts.shards },
        verify: { parallel: opts.shards },
        // The online cut-over scenario's migration (backfill runs do not read these).
        ...ONLINE_POLICY,
      },
    },
  };
  fs.writeFileSync(file, JSON.stringify(document, null, 2), { mode: 0o600 });
  const childEnv: NodeJS.ProcessEnv = {
    ...devServerEnv(opts.temporalAddress, opts.namespace, dir),
    PLANDB_CONFIG: file,
    [URL_VARIABLE]: opts.databaseUrl,
    PLANDB_LOG_LEVEL: process.env.PLANDB_LOG_LEVEL ?? 'warn',
    // Free ports for the worker's metrics endpoints, so the bench also runs next to `plandb dev`.
    PLANDB_METRICS_PORT: '0',
    PLANDB_TEMPORAL_METRICS_ADDRESS: '127.0.0.1:0',
  };
  return { config: loadConfig({ path: file, env: childEnv }), childEnv };
}

/** backfill.tuning bounds that admit `batchSize` as the starting size (the defaults otherwise). */
export function tuningAround(batchSize: number): { minBatchSize: number; maxBatchSize: number } {
  return { minBatchSize: Math.min(50, batchSize), maxBatchSize: Math.max(5000, batchSize) };
}
