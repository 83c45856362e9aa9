import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config/load';
import { createMetrics, markGateOpen, observeStepDuration, primeMetrics } from '../../metrics/registry';
import { formatHostPort, metricsListenFromEnv, startMetricsServer } from '../../metrics/server';
import { REJECT_REASONS } from '../../transform/types';
import { parseExposition, samplesOf, valueOf } from '../support/prometheus-text';

async function exposition(metrics: ReturnType<typeof createMetrics>) {
  return parseExposition(await metrics.registry.metrics());
}

describe('metrics registry', () => {
  test('primeMetrics creates the alerted-on series at 0 for every environment and exports maxRows where set', async () => {
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
    for (const environment of ['dev', 'production']) {
      expect(samplesOf(e, 'plan_backfill_runs_total', { environment }).map((s) => [s.labels.status, s.value])).toEqual([
        ['completed', 0],
        ['failed', 0],
        ['cancelled', 0],
        ['terminated', 0],
      ]);
      expect(samplesOf(e, 'plan_db_write_error_total', { environment }).map((s) => s.labels.reason)).toEqual([
        ...REJECT_REASONS,
        'conflict',
        'db_rejected',
        'db_error',
      ]);
      expect(valueOf(e, 'plan_db_capacity_trim_total', { environment })).toBe(0);
      expect(valueOf(e, 'plan_db_capacity_trim_alerts_total', { environment })).toBe(0);
    }
    expect(samplesOf(e, 'plan_db_capacity_max_rows').map((s) => [s.labels.environment, s.value])).toEqual([['production', 500]]);
    // Nothing happened yet: no gauge claims a success or a trim.
    expect(samplesOf(e, 'plan_backfill_last_success_timestamp_seconds')).toEqual([]);
    expect(samplesOf(e, 'plan_db_last_trim_timestamp')).toEqual([]);
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

  test('markGateOpen sets the open time, and 0 when the gate closes', async () => {
    const metrics = createMetrics();
    const before = Date.now() / 1000;
    markGateOpen(metrics, 'production', 'spot-check', true);
    const since = valueOf(await exposition(metrics), 'plan_migration_waiting_since_timestamp', {
      environment: 'production',
      gate: 'spot-check',
    });
    expect(since).toBeGreaterThanOrEqual(before);
    expect(since).toBeLessThanOrEqual(Date.now() / 1000);
    markGateOpen(metrics, 'production', 'spot-check', false);
    expect(
      valueOf(await exposition(metrics), 'plan_migration_waiting_since_timestamp', { environment: 'production', gate: 'spot-check' }),
    ).toBe(0);
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
