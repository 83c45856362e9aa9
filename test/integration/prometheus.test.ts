/**
 * A real Prometheus (Debian's /usr/bin/prometheus) scrapes a real worker every second, with the shipped
 * rule file evaluated every second, through a migration with bad rows and a capacity trim. Then, through
 * Prometheus's HTTP API: every query of deploy/grafana/*.json returns numbers, and the alerts the run
 * should raise are pending or firing while the others stay inactive. The shipped `for:` durations are
 * kept: an alert with `for:` is asserted `pending` in /api/v1/rules.
 *
 * Then a second Prometheus scrapes the same worker with a copy of the shipped rule file whose time windows
 * and `for:` durations are divided by TIME_SCALE (10m -> 10s; derived by a regex over the shipped file, so
 * the shipped expressions are what is evaluated): PlanDbBackfillStalled stays inactive while a running
 * run's cursor moves and fires once it stops; PlanDbWorkerDown stays inactive while the worker is scraped
 * and fires once its metrics server is closed (and goes pending in the first, unscaled Prometheus).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import YAML from 'yaml';
import { createLegacyUsage } from '../../activities/legacy-usage';
import { advanceRun, ZERO_COUNTERS } from '../../db/backfill-runs';
import { advanceShard, createShardedRun } from '../../db/backfill-shards';
import { readTableUsage } from '../../db/legacy-usage';
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

// The scaled copy: every duration in an `expr` window or offset and every `for:` divided by this (minutes become seconds).
const TIME_SCALE = 60;

type Sample = { metric: Record<string, string>; value: [number, string] };
type RuleState = { name: string; state: string };
type Alert = { labels: Record<string, string>; state: string; value: string };
type RuleFile = { groups: { name: string; rules: { alert?: string; expr: string; for?: string }[] }[] };

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400, y: 365 * 86400 };

function scaleDuration(duration: string): string {
  const m = /^(\d+)([smhdwy])$/.exec(duration);
  if (!m) throw new Error(`cannot scale duration ${duration}`);
  const seconds = (Number(m[1]) * UNIT_SECONDS[m[2]]) / TIME_SCALE;
  if (!Number.isInteger(seconds)) throw new Error(`${duration} / ${TIME_SCALE} is not a whole number of seconds`);
  return `${seconds}s`;
}

/**
 * The shipped rule file with every range (`[10m]`), offset (`offset 10m`) and `for:` divided by TIME_SCALE;
 * everything else (the expressions, labels, annotations) as shipped. Plain number literals (`2 * 86400`,
 * `4 * 3600` seconds) are not durations and stay: the alerts they belong to are not asserted on the copy.
 */
function scaledRules(shipped: string): string {
  const file = YAML.parse(shipped) as RuleFile;
  for (const rule of file.groups.flatMap((g) => g.rules)) {
    rule.expr = rule.expr.replace(
      /(\[|\boffset\s+)(\d+[smhdwy])(?=\]|[^\w:])/g,
      (_, before: string, d: string) => before + scaleDuration(d),
    );
    // A duration form the regex does not know (1h30m, a subquery step) would otherwise stay unscaled.
    const left = /(\[|\boffset\s+)[^\]\s)]*\d[mhdwy]/.exec(rule.expr);
    if (left) throw new Error(`unscaled duration in ${rule.alert}: ${left[0]}`);
    if (rule.for) rule.for = scaleDuration(rule.for);
  }
  return YAML.stringify(file, { lineWidth: 0 });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface Prometheus {
  query(expr: string, time?: number): Promise<Sample[]>;
  ruleStates(): Promise<Map<string, string>>;
  alerts(): Promise<Alert[]>;
  stop(): Promise<void>;
}

/** Prometheus under `timeout`, scraping `target` as job plandb every second with `rules` evaluated every second. */
async function startPrometheus(dir: string, target: string, rules: string): Promise<Prometheus> {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'plandb-alerts.yml'), rules);
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
      `      - targets: ["${target}"]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const proc = spawn(
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
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const get = async <T>(route: string, params: Record<string, string> = {}): Promise<T> => {
    const res = await fetch(`${api}${route}?${new URLSearchParams(params)}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${route} ${JSON.stringify(params)}: ${body.error}`);
    return body.data;
  };
  const prometheus: Prometheus = {
    query: async (expr, time) =>
      (await get<{ result: Sample[] }>('/api/v1/query', { query: expr, ...(time ? { time: String(time) } : {}) })).result,
    ruleStates: async () => {
      const data = await get<{ groups: { rules: RuleState[] }[] }>('/api/v1/rules', { type: 'alert' });
      return new Map(data.groups.flatMap((g) => g.rules.map((r) => [r.name, r.state] as const)));
    },
    alerts: async () => (await get<{ alerts: Alert[] }>('/api/v1/alerts')).alerts,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      await exited;
    },
  };
  try {
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`prometheus exited (${proc.exitCode}): ${output.slice(-2000)}`);
        return (await fetch(`${api}/-/ready`).catch(() => null))?.ok;
      },
      60_000,
      'Prometheus ready',
    );
  } catch (err) {
    await prometheus.stop();
    throw err;
  }
  return prometheus;
}

describe('a real Prometheus over a real worker', () => {
  let f: MigrationFixture;
  let metricsServer: MetricsServer;
  let metricsServerOpen = false;
  let prometheus: Prometheus;
  let scaled: Prometheus | undefined;
  let dir: string;

  /** Waits until Prometheus has scraped what `expr` selects (at least one sample). */
  const scraped = (expr: string, what: string, p: Prometheus = prometheus) =>
    waitFor(async () => (await p.query(expr)).length > 0, 60_000, `${what} in Prometheus`);

  beforeAll(async () => {
    f = await migrationFixture({
      pdev: {
        approval: { required: true, approvers: ['carol'], timeout: '1h' },
        maintenance: { mode: 'db-flag' },
        spotCheck: { required: true },
        capacity: { maxRows: MAX_ROWS, alertThreshold: ALERT_THRESHOLD },
      },
    });
    // A session's table statistics reach pg_stat_user_tables up to 10 s after its writes: the seeding must be
    // counted before the migration's cut-over, or it would count as writes after it.
    const seeded = (await f.dbs.pdev.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM plan_artifacts')).rows[0].n;
    await waitFor(
      async () => ((await readTableUsage(f.dbs.pdev.pool))?.counters.nTupIns ?? 0) >= seeded,
      30_000,
      'the seeding in the statistics',
    );
    metricsServer = await startMetricsServer(f.harness.metrics.registry, { host: '127.0.0.1', port: 0 });
    metricsServerOpen = true;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-prometheus-'));
    prometheus = await startPrometheus(path.join(dir, 'shipped'), metricsServer.address, fs.readFileSync(RULES, 'utf8'));
  });

  afterAll(async () => {
    await scaled?.stop();
    await prometheus?.stop();
    if (metricsServerOpen) await metricsServer.close();
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
      const results = [...(await prometheus.query(promql, gateOpenAt)), ...(await prometheus.query(promql, end))];
      expect([panel, promql, results.length > 0]).toEqual([panel, promql, true]);
      for (const r of results) expect([panel, r.metric, Number.isFinite(Number(r.value[1]))]).toEqual([panel, r.metric, true]);
    }
    // The bad rows, all of them seen by increase() (extrapolation may add a fraction): the first batch is not lost.
    const total = await prometheus.query('sum(plan_db_write_error_total{environment="pdev"})');
    expect(Number(total[0].value[1])).toBe(MIGRATION_DEMO.bad);
    const increase = await prometheus.query('sum(increase(plan_db_write_error_total{environment="pdev"}[1h]))');
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
      PlanDbNotificationsFailing: 'inactive',
      PlanDbLegacyTableWrittenAfterCutover: 'inactive',
    };
    const states = await waitFor(
      async () => {
        const s = await prometheus.ruleStates();
        return Object.entries(expected).every(([name, state]) => s.get(name) === state) ? s : null;
      },
      30_000,
      'the expected rule states',
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(Object.fromEntries(await prometheus.ruleStates()))}`);
    });
    expect(Object.fromEntries(states)).toEqual(expected);
    const alerts = await prometheus.alerts();
    expect(alerts.map((a) => [a.labels.alertname, a.labels.environment, a.state]).sort()).toEqual(
      [
        ['PlanDbCapacityTrimGuardFired', 'pdev', 'firing'],
        ['PlanDbMaintenanceWithoutMigration', 'pdev', 'pending'],
        ['PlanDbWriteErrorsGrowing', 'pdev', 'pending'],
      ].sort(),
    );
  });
  test('a copy of the shipped rules scaled from minutes to seconds: the backfill-stalled alert fires once a running run stops advancing, the legacy-table alert on a write after the cut-over, the worker-down alert once the worker is gone', async () => {
    const rules = scaledRules(fs.readFileSync(RULES, 'utf8'));
    const copy = (YAML.parse(rules) as RuleFile).groups.flatMap((g) => g.rules);
    const rule = (name: string) => copy.find((r) => r.alert === name);
    // The windows the waits below rely on: 10m -> 10s, for: 5m -> 5s.
    const WINDOW_MS = 10_000;
    expect(rule('PlanDbBackfillStalled')?.expr).toMatch(/changes\(plan_backfill_running_cursor\[10s\]\)[^]*offset 10s/);
    expect(rule('PlanDbWorkerDown')?.for).toBe('5s');
    scaled = await startPrometheus(path.join(dir, 'scaled'), metricsServer.address, rules);
    const p = scaled;
    await scraped('up{job="plandb"} == 1', 'the worker scraped by the scaled copy', p);
    // A fresh Prometheus hands static targets to its scrapers only after about 5 s, during which
    // absent(up{job="plandb"}) holds: with the scaled `for: 5s` PlanDbWorkerDown may fire for that moment
    // (the shipped `for: 5m` does not). Once the worker is scraped it resolves at the next evaluation.
    await waitFor(
      async () => (await p.ruleStates()).get('PlanDbWorkerDown') === 'inactive',
      10_000,
      'PlanDbWorkerDown inactive once scraped',
    );
    const firing = (alertname: string, what: string) =>
      waitFor(async () => (await p.alerts()).find((a) => a.labels.alertname === alertname && a.state === 'firing'), 30_000, what).catch(
        async (err: Error) => {
          throw new Error(`${err.message}: ${JSON.stringify(await p.alerts())}`);
        },
      );

    // A running run whose cursor moves, then stops. No worker runs now (harness.run has returned: no
    // activities and no reconciler), so the run row changes only when this test changes it, through the
    // functions the backfill workflow's activities use: createShardedRun starts the run, advanceShard and
    // advanceRun commit a batch's checkpoint. The worker's /metrics reads the cursor from the database at scrape time, as for any
    // run; a run that nobody advances is the "no worker runs its activities" case the alert describes.
    const pool = f.dbs.pdev.pool;
    const run = await createShardedRun(
      pool,
      {
        runId: uniqueWorkflowId('stall'),
        environment: 'pdev',
        workflowId: null,
        mode: 'normal',
        options: {},
        cursor: 0,
        upToId: 1_000_000,
        artifactsTotal: 1_000_000,
        limit: null,
      },
      1,
    );
    let cursor = 0;
    // A batch every 500 ms, for longer than the window: the rule sees a run running for the whole window.
    const movingUntil = Date.now() + WINDOW_MS + 5_000;
    while (Date.now() < movingUntil) {
      cursor += 10;
      const counts = { artifactsRead: 10, versionsWritten: 0, rowsWritten: 0, errorsCount: 0 };
      await advanceShard(pool, run.runId, 0, { ...counts, cursor, done: false });
      await advanceRun(pool, run.runId, { ...ZERO_COUNTERS, artifactsRead: 10 }, []);
      const states = await p.ruleStates();
      expect([cursor, states.get('PlanDbBackfillStalled'), states.get('PlanDbWorkerDown')]).toEqual([cursor, 'inactive', 'inactive']);
      await new Promise((r) => setTimeout(r, 500));
    }
    // Inactive because the cursor changed, not for want of history: the run was already running a window ago.
    expect(await p.query('plan_backfill_running_cursor{environment="pdev"} offset 10s')).toHaveLength(1);
    expect(Number((await p.query('changes(plan_backfill_running_cursor{environment="pdev"}[10s])'))[0].value[1])).toBeGreaterThan(0);

    const stalledAt = Date.now();
    const stalled = await firing('PlanDbBackfillStalled', 'PlanDbBackfillStalled firing');
    // Not before a whole window without a change (less a scrape interval of alignment).
    expect(Date.now() - stalledAt).toBeGreaterThanOrEqual(WINDOW_MS - 2_000);
    expect(stalled.labels).toEqual({ alertname: 'PlanDbBackfillStalled', environment: 'pdev', severity: 'warning' });
    expect(Number(stalled.value)).toBe(cursor);
    expect((await p.ruleStates()).get('PlanDbWorkerDown')).toBe('inactive');

    // The migration of the first test recorded pdev's cut-over: a write to plan_artifacts after it fires the
    // legacy-table alert (for: 5s), and a reset point (`plandb legacy-usage --reset`) acknowledges it.
    expect(rule('PlanDbLegacyTableWrittenAfterCutover')?.for).toBe('5s');
    expect((await p.ruleStates()).get('PlanDbLegacyTableWrittenAfterCutover')).toBe('inactive');
    await pool.query(`INSERT INTO plan_artifacts (plan_id, version, payload) VALUES ('written-after-cutover', 1, '{}')`);
    const written = await firing('PlanDbLegacyTableWrittenAfterCutover', 'PlanDbLegacyTableWrittenAfterCutover firing');
    expect(written.labels).toEqual({ alertname: 'PlanDbLegacyTableWrittenAfterCutover', environment: 'pdev', severity: 'critical' });
    expect(Number(written.value)).toBe(1);
    const usageDeps = {
      config: f.config,
      databases: f.harness.databases,
      metrics: f.harness.metrics,
      logger: pino({ level: 'silent' }),
      env: f.env,
    };
    await createLegacyUsage(usageDeps).recordPoint('reset', { environment: 'pdev', actor: 'sre-oncall' });
    await waitFor(
      async () => (await p.ruleStates()).get('PlanDbLegacyTableWrittenAfterCutover') === 'inactive',
      30_000,
      'PlanDbLegacyTableWrittenAfterCutover inactive after the reset',
    );

    // The worker's metrics server goes away: up{job="plandb"} == 0.
    await metricsServer.close();
    metricsServerOpen = false;
    const downAt = Date.now();
    const down = await firing('PlanDbWorkerDown', 'PlanDbWorkerDown firing');
    expect(Date.now() - downAt).toBeGreaterThanOrEqual(4_000);
    expect(down.labels).toEqual({ alertname: 'PlanDbWorkerDown', job: 'plandb', instance: metricsServer.address, severity: 'critical' });
    // The first Prometheus, with the shipped `for: 5m`, sees the same: pending.
    await waitFor(
      async () => (await prometheus.ruleStates()).get('PlanDbWorkerDown') === 'pending',
      30_000,
      'PlanDbWorkerDown pending (shipped rules)',
    );
  });
});
