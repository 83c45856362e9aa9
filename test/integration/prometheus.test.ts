/**
 * A real Prometheus (Debian's /usr/bin/prometheus) scrapes a real worker every second, with the shipped
 * rule file evaluated every second, through a migration with bad rows and a capacity trim. Then, through
 * Prometheus's HTTP API: every query of deploy/grafana/*.json returns numbers, and the alerts the run
 * should raise are pending or firing while the others stay inactive. The shipped `for:` durations are
 * kept: an alert with `for:` is asserted `pending` in /api/v1/rules.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setMaintenanceFlag } from '../../db/maintenance';
import { startMetricsServer, type MetricsServer } from '../../metrics/server';
import type { MigrationEvidence } from '../../model/migration';
import { projectRoot } from '../../platform/project-root';
import { approveUpdate } from '../../workflows/definitions';
import { uniqueWorkflowId, waitFor } from '../support/backfill';
import { dashboardQueries } from '../support/dashboard';
import { migrationFixture, MIGRATION_DEMO, startMigration, waitForMigration, type MigrationFixture } from '../support/migration';
import { parseExposition } from '../support/prometheus-text';

const PROMETHEUS = '/usr/bin/prometheus';
// The longest this test may need Prometheus; `timeout` ends it even if jest dies before afterAll.
const PROMETHEUS_LIFETIME_S = 600;
const RULES = path.join(projectRoot(), 'deploy', 'prometheus', 'plandb-alerts.yml');
// 5 plans x 3 versions x 6 series rows = 90 plan_series rows: a trim to 40 deletes 9 versions (54 rows), past the threshold.
const MAX_ROWS = 40;
const ALERT_THRESHOLD = 10;
// Grafana's variables as a dashboard over the last hour would send them.
const GRAFANA_VARIABLES: Record<string, string> = { $environment: 'pdev', $__rate_interval: '5m', $__range: '1h' };

type Sample = { metric: Record<string, string>; value: [number, string] };
type RuleState = { name: string; state: string };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('a real Prometheus over a real worker', () => {
  let f: MigrationFixture;
  let metricsServer: MetricsServer;
  let prometheus: ChildProcess;
  let dir: string;
  let api: string;
  let output = '';

  const get = async <T>(route: string, params: Record<string, string> = {}): Promise<T> => {
    const res = await fetch(`${api}${route}?${new URLSearchParams(params)}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${route} ${JSON.stringify(params)}: ${body.error}`);
    return body.data;
  };
  const query = async (expr: string, time?: number): Promise<Sample[]> =>
    (await get<{ result: Sample[] }>('/api/v1/query', { query: expr, ...(time ? { time: String(time) } : {}) })).result;
  const ruleStates = async (): Promise<Map<string, string>> => {
    const data = await get<{ groups: { rules: RuleState[] }[] }>('/api/v1/rules', { type: 'alert' });
    return new Map(data.groups.flatMap((g) => g.rules.map((r) => [r.name, r.state] as const)));
  };
  /** Waits until Prometheus has scraped what `expr` selects (at least one sample). */
  const scraped = (expr: string, what: string) => waitFor(async () => (await query(expr)).length > 0, 60_000, `${what} in Prometheus`);

  beforeAll(async () => {
    f = await migrationFixture({
      pdev: {
        approval: { required: true, approvers: ['carol'], timeout: '1h' },
        maintenance: { mode: 'db-flag' },
        spotCheck: { required: true },
        capacity: { maxRows: MAX_ROWS, alertThreshold: ALERT_THRESHOLD },
      },
    });
    metricsServer = await startMetricsServer(f.harness.metrics.registry, { host: '127.0.0.1', port: 0 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-prometheus-'));
    fs.copyFileSync(RULES, path.join(dir, 'plandb-alerts.yml'));
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'rule_files: [plandb-alerts.yml]',
        'scrape_configs:',
        // The job name the README's scrape config uses and PlanDbWorkerDown watches.
        '  - job_name: plandb',
        '    static_configs:',
        `      - targets: ["${metricsServer.address}"]`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      'timeout',
      [
        String(PROMETHEUS_LIFETIME_S),
        PROMETHEUS,
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    prometheus.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(
      async () => {
        if (prometheus.exitCode !== null) throw new Error(`prometheus exited (${prometheus.exitCode}): ${output.slice(-2000)}`);
        return (await fetch(`${api}/-/ready`).catch(() => null))?.ok;
      },
      60_000,
      'Prometheus ready',
    );
  });

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await metricsServer?.close();
    await f?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('through a migration with bad rows and a trim: every dashboard query returns numbers; the expected alerts go pending or fire', async () => {
    const primed = parseExposition(await f.harness.metrics.registry.metrics());
    // The worker's first scrape holds the primed zeros, so increase() counts the migration's first events.
    await scraped(
      'up{job="plandb"} == 1 and on () plan_db_write_error_total{environment="pdev",reason="value_not_finite"} == 0',
      'the primed worker',
    );

    let gateOpenAt = 0;
    await f.harness.run(async () => {
      const handle = await startMigration(f.harness, { environment: 'pdev', postCheckHours: 0 });
      await waitForMigration(handle, (e) => e.openGate === 'start', 'the start gate');
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'start', approver: 'carol' }] });
      await waitForMigration(handle, (e) => e.openGate === 'spot-check', 'the spot-check gate');
      // Read from the database at scrape time, through Prometheus.
      await scraped('plan_migration_waiting_since_timestamp{environment="pdev",gate="spot-check"}', 'the open spot-check gate');
      await scraped(
        'plan_db_maintenance_enabled{environment="pdev"} == 1 and on () plan_migration_running{environment="pdev"} == 1',
        'maintenance on during the migration',
      );
      gateOpenAt = Date.now() / 1000;
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'spot-check', approver: 'carol' }] });
      const evidence = (await handle.result()) as MigrationEvidence;
      expect(evidence.status).toBe('completed');
      const trim = await f.harness.client.workflow.execute('capacityTrim', {
        workflowId: uniqueWorkflowId('trim'),
        taskQueue: f.harness.taskQueue,
        args: [{ environment: 'pdev' }],
      });
      expect(trim).toEqual(expect.objectContaining({ alerted: true }));
    });
    // Maintenance left on by hand after the migration ended: the critical alert's condition.
    await setMaintenanceFlag(f.dbs.pdev.pool, { enabled: true, reason: 'left on', actor: 'test' });
    await scraped('plan_db_capacity_trim_total{environment="pdev"} > 0', 'the trim');
    await scraped(
      'plan_db_maintenance_enabled{environment="pdev"} == 1 and on () plan_migration_running{environment="pdev"} == 0',
      'maintenance left on',
    );

    // No series appeared that the worker had not created at start-up: every label combination is primed.
    const after = parseExposition(await f.harness.metrics.registry.metrics());
    const key = (s: { name: string; labels: Record<string, string> }) => `${s.name}${JSON.stringify(s.labels)}`;
    const primedKeys = new Set(primed.samples.map(key));
    const counted = (name: string) => ['counter', 'histogram'].includes(after.types[name.replace(/_(bucket|sum|count)$/, '')] ?? '');
    expect(after.samples.filter((s) => s.name.startsWith('plan_') && counted(s.name) && !primedKeys.has(key(s))).map(key)).toEqual([]);

    const end = Date.now() / 1000;
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThanOrEqual(10);
    for (const { panel, expr } of queries) {
      const promql = Object.entries(GRAFANA_VARIABLES).reduce((q, [name, value]) => q.split(name).join(value), expr);
      // The gate panel has data only while a gate is open, the others at the end.
      const results = [...(await query(promql, gateOpenAt)), ...(await query(promql, end))];
      expect([panel, promql, results.length > 0]).toEqual([panel, promql, true]);
      for (const r of results) expect([panel, r.metric, Number.isFinite(Number(r.value[1]))]).toEqual([panel, r.metric, true]);
    }
    // The bad rows, all of them seen by increase() (extrapolation may add a fraction): the first batch is not lost.
    const total = await query('sum(plan_db_write_error_total{environment="pdev"})');
    expect(Number(total[0].value[1])).toBe(MIGRATION_DEMO.bad);
    const increase = await query('sum(increase(plan_db_write_error_total{environment="pdev"}[1h]))');
    expect(Number(increase[0].value[1])).toBeGreaterThanOrEqual(MIGRATION_DEMO.bad);

    const expected = {
      PlanDbWriteErrorsGrowing: 'pending',
      PlanDbCapacityTrimGuardFired: 'firing',
      PlanDbMaintenanceWithoutMigration: 'pending',
      PlanDbBackfillFailed: 'inactive',
      PlanDbNoTrimIn2Days: 'inactive',
      PlanDbMigrationWaitingAtGate: 'inactive',
      PlanDbWorkerDown: 'inactive',
      PlanDbBackfillStalled: 'inactive',
    };
    const states = await waitFor(
      async () => {
        const s = await ruleStates();
        return Object.entries(expected).every(([name, state]) => s.get(name) === state) ? s : null;
      },
      30_000,
      'the expected rule states',
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(Object.fromEntries(await ruleStates()))}`);
    });
    expect(Object.fromEntries(states)).toEqual(expected);
    const alerts = (await get<{ alerts: { labels: Record<string, string>; state: string }[] }>('/api/v1/alerts')).alerts;
    expect(alerts.map((a) => [a.labels.alertname, a.labels.environment, a.state]).sort()).toEqual(
      [
        ['PlanDbCapacityTrimGuardFired', 'pdev', 'firing'],
        ['PlanDbMaintenanceWithoutMigration', 'pdev', 'pending'],
        ['PlanDbWriteErrorsGrowing', 'pdev', 'pending'],
      ].sort(),
    );
  });
});
