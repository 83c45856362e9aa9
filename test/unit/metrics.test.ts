import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config/load';
import { BACKFILL_OUTCOMES, backfillOutcomeLabel, createMetrics, observeStepDuration, primeMetrics } from '../../metrics/registry';
import { FINAL_RUN_STATUSES } from '../../model/backfill';
import { BULK_STAGES } from '../../model/bulk-load';
import { STEP_NAMES } from '../../model/migration';
import { NOTIFICATION_EVENTS } from '../../model/notifications';
import { THROTTLE_REASONS } from '../../model/throttle';
import { REPOSITORY_TABLES } from '../../model/tables';
import { formatHostPort, metricsListenFromEnv, startMetricsServer } from '../../metrics/server';
import { REJECT_REASONS } from '../../transform/types';
import { parseExposition, samplesOf, valueOf } from '../support/prometheus-text';

async function exposition(metrics: ReturnType<typeof createMetrics>) {
  return parseExposition(await metrics.registry.metrics());
}

describe('metrics registry', () => {
  test('primeMetrics creates at 0 every label combination the worker can emit, for every environment, and exports maxRows where set', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-metrics-'));
    const file = path.join(dir, 'plandb.config.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ environments: { dev: { databaseUrlEnv: 'A' }, production: { databaseUrlEnv: 'B', capacity: { maxRows: 500 } } } }),
    );
    const config = loadConfig({ path: file, env: { A: 'postgres://a', B: 'postgres://b' } });
    fs.rmSync(dir, { recursive: true, force: true });
    const metrics = createMetrics();
    primeMetrics(metrics, config);
    const e = await exposition(metrics);
    const combos = (name: string, label: string, environment: string) =>
      samplesOf(e, name, { environment }).map((s) => [s.labels[label], s.value]);
    const zeros = (values: readonly string[]) => values.map((v) => [v, 0]);
    for (const environment of ['dev', 'production']) {
      expect(combos('plan_db_write_total', 'table', environment)).toEqual(zeros(REPOSITORY_TABLES));
      expect(combos('plan_db_write_error_total', 'reason', environment)).toEqual(
        zeros([...REJECT_REASONS, 'conflict', 'db_rejected', 'db_error']),
      );
      expect(combos('plan_backfill_artifacts_total', 'outcome', environment)).toEqual(
        zeros(BACKFILL_OUTCOMES.flatMap((o) => [o, `dry_run_${o}`])),
      );
      expect(combos('plan_backfill_runs_total', 'status', environment)).toEqual(zeros(FINAL_RUN_STATUSES));
      expect(combos('plan_backfill_throttled_seconds_total', 'reason', environment)).toEqual(zeros(THROTTLE_REASONS));
      expect(combos('plan_db_write_latency_seconds_count', 'operation', environment)).toEqual(zeros(['backfill_batch', 'trim_batch']));
      expect(combos('plan_migration_step_duration_seconds_count', 'step', environment)).toEqual(zeros(STEP_NAMES));
      expect(combos('plan_backfill_bulk_stage_seconds_count', 'stage', environment)).toEqual(zeros(BULK_STAGES));
      expect(samplesOf(e, 'plan_notifications_total', { environment }).map((s) => [s.labels.event, s.labels.outcome, s.value])).toEqual(
        NOTIFICATION_EVENTS.flatMap((event) => [
          [event, 'delivered', 0],
          [event, 'failed', 0],
        ]),
      );
      // Every bucket too: histogram_quantile() over increase() needs the 0 before the first observation.
      expect(samplesOf(e, 'plan_migration_step_duration_seconds_bucket', { environment, step: 'backup' }).map((s) => s.value)).toEqual(
        Array(16).fill(0),
      );
      // 0 until the worker starts a batch of the environment: a panel shows "no batch yet", not a gap.
      expect(valueOf(e, 'plan_backfill_batch_size', { environment })).toBe(0);
      expect(valueOf(e, 'plan_db_capacity_trim_total', { environment })).toBe(0);
      expect(valueOf(e, 'plan_backfill_catch_up_passes_total', { environment })).toBe(0);
      expect(valueOf(e, 'plan_db_capacity_trim_alerts_total', { environment })).toBe(0);
    }
    expect(samplesOf(e, 'plan_db_capacity_max_rows').map((s) => [s.labels.environment, s.value])).toEqual([['production', 500]]);
    // Nothing happened yet: no gauge claims a success or a trim, and without databases nothing is read.
    expect(samplesOf(e, 'plan_backfill_last_success_timestamp_seconds')).toEqual([]);
    expect(samplesOf(e, 'plan_db_last_trim_timestamp')).toEqual([]);
    expect(samplesOf(e, 'plan_db_maintenance_enabled')).toEqual([]);
  });

  test('a dry run counts its outcomes apart: the prime list names each dry-run outcome', () => {
    expect(backfillOutcomeLabel('rejected', true)).toBe('dry_run_rejected');
    expect(backfillOutcomeLabel('rejected', false)).toBe('rejected');
  });

  test('observeStepDuration fills plan_migration_step_duration_seconds; buckets reach 24 hours', async () => {
    const metrics = createMetrics();
    observeStepDuration(metrics, 'staging', 'backup', 42);
    observeStepDuration(metrics, 'staging', 'approval', 20 * 3600);
    const e = await exposition(metrics);
    expect(valueOf(e, 'plan_migration_step_duration_seconds_count', { environment: 'staging', step: 'backup' })).toBe(1);
    expect(valueOf(e, 'plan_migration_step_duration_seconds_sum', { environment: 'staging', step: 'backup' })).toBe(42);
    const buckets = samplesOf(e, 'plan_migration_step_duration_seconds_bucket', { step: 'approval' });
    expect(buckets[0].labels.le).toBe('1');
    expect(buckets.at(-2)?.labels.le).toBe('86400');
    expect(valueOf(e, 'plan_migration_step_duration_seconds_bucket', { environment: 'staging', step: 'approval', le: '43200' })).toBe(0);
    expect(valueOf(e, 'plan_migration_step_duration_seconds_bucket', { environment: 'staging', step: 'approval', le: '86400' })).toBe(1);
  });

  test('the repository gauge is the one the capacity activity registers', () => {
    const metrics = createMetrics();
    expect(metrics.registry.getSingleMetric('plan_repository_rows')).toBe(metrics.repositoryRows);
  });
});

describe('metrics server settings', () => {
  test('defaults to 127.0.0.1:9464', () => {
    expect(metricsListenFromEnv({})).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(metricsListenFromEnv({ PLANDB_METRICS_HOST: '', PLANDB_METRICS_PORT: '' })).toEqual({ host: '127.0.0.1', port: 9464 });
  });

  test('takes PLANDB_METRICS_HOST and PLANDB_METRICS_PORT (0: any free port)', () => {
    expect(metricsListenFromEnv({ PLANDB_METRICS_HOST: '0.0.0.0', PLANDB_METRICS_PORT: '9100' })).toEqual({ host: '0.0.0.0', port: 9100 });
    expect(metricsListenFromEnv({ PLANDB_METRICS_PORT: '0' })).toEqual({ host: '127.0.0.1', port: 0 });
  });

  test('refuses a port that is not one, naming the variable', () => {
    for (const bad of ['x', '-1', '65536', '9464.5', ' 9464']) {
      expect(() => metricsListenFromEnv({ PLANDB_METRICS_PORT: bad })).toThrow(/^PLANDB_METRICS_PORT: must be a port number 0-65535/);
    }
  });

  test('formats IPv6 hosts in brackets', () => {
    expect(formatHostPort('127.0.0.1', 9464)).toBe('127.0.0.1:9464');
    expect(formatHostPort('::1', 9464)).toBe('[::1]:9464');
  });

  test('a second server on the same registry does not register the process metrics twice', async () => {
    const metrics = createMetrics();
    const first = await startMetricsServer(metrics.registry, { host: '127.0.0.1', port: 0 });
    await first.close();
    const second = await startMetricsServer(metrics.registry, { host: '127.0.0.1', port: 0 });
    try {
      const e = parseExposition(await (await fetch(second.url)).text());
      expect(samplesOf(e, 'process_cpu_user_seconds_total')).toHaveLength(1);
    } finally {
      await second.close();
    }
  });
});
