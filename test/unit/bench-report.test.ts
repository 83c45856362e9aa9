import { parseOptions, UsageError } from '../../bench/options';
import { BAR, buildReport, summaryLines, type BaselineMeasurement, type Measurements, type WorkflowMeasurement } from '../../bench/report';
import { backfillInput } from '../../bench/workflow-run';
import { checkBackfillInput } from '../../workflows/definitions';

const CPU = { postgres: 1, worker: 2, bench: 0.5, machineBusy: 4 };

const baseline = (seconds: number, sessions = 1): BaselineMeasurement => ({
  seconds,
  totalRows: 1_000_000,
  sessions,
  secondsByTable: { plan_series: seconds / 2 },
  cpuSeconds: CPU,
});

const run = (seconds: number, totalRows: number, rss: number[], historyEvents = 100): WorkflowMeasurement => ({
  seconds,
  totalRows,
  historyEvents,
  runs: 1,
  shards: 2,
  cpuSeconds: CPU,
  workersPeakRssMb: rss,
});

const verifyPass = (sessions: number, seconds: number, mismatches = 0) => ({
  sessions,
  seconds,
  versions: 2000,
  mismatches,
  cpuSeconds: CPU,
});

/** 1M rows: sqlRepository1 in 10 s, sqlRepositoryN in 5 s, sqlPrimaryKeysOnly1 in 8 s. */
function measurements(overrides: Partial<Measurements> = {}): Measurements {
  return {
    artifacts: 2000,
    plans: 200,
    versionsPerPlan: 10,
    seriesPerArtifact: 100,
    batchSize: 500,
    workerHeapMb: null,
    seriesRows: 900_000,
    rowsByTable: { plans: 200, plan_versions: 2000, plan_kpis: 6000, plan_series: 900_000, plan_events: 91_800 },
    generateSeconds: 3,
    baselines: { sqlRepository1: baseline(10), sqlRepositoryN: baseline(5, 2), sqlPrimaryKeysOnly1: baseline(8) },
    scenarios: {
      // 125,000 rows/s: 1.25x sqlRepository1, 1.0x sqlPrimaryKeysOnly1.
      workflowFirstLoad: run(8, 1_000_000, [300.04, 310]),
      // 200,000 rows/s over the second half: 1.0x sqlRepositoryN.
      workflowHalfFilled: { ...run(2.5, 500_000, [280]), fill: { seconds: 4, totalRows: 500_000, artifacts: 1000 } },
    },
    verify: { serial: verifyPass(1, 12), parallel: verifyPass(2, 9) },
    cancel: null,
    online: null,
    database: 'embedded PostgreSQL 15',
    loadAverage: { before: [0.5, 0, 0], after: [1.5, 0, 0] },
    ...overrides,
  };
}

describe('bench report', () => {
  test('each scenario has its rate, a ratio against every baseline, its workers peak RSS and history per 1M rows', () => {
    const r = buildReport(measurements());
    expect(r.totalRows).toBe(1_000_000);
    expect(r.scenarios.workflowFirstLoad).toEqual(
      expect.objectContaining({
        rowsPerSecond: 125_000,
        ratios: { sqlRepository1: 1.25, sqlRepositoryN: 0.625, sqlPrimaryKeysOnly1: 1 },
        workersPeakRssMb: [300, 310],
        historyEventsPerMillionRows: 100,
        shards: 2,
        workers: 2,
      }),
    );
    expect(r.scenarios.workflowHalfFilled).toEqual(
      expect.objectContaining({
        totalRows: 500_000,
        rowsPerSecond: 200_000,
        ratios: { sqlRepository1: 2, sqlRepositoryN: 1, sqlPrimaryKeysOnly1: 1.6 },
        historyEventsPerMillionRows: 200,
        fill: { seconds: 4, totalRows: 500_000, artifacts: 1000 },
      }),
    );
    expect(r.workerPeakRssMb).toBe(310);
    expect(r.verify).toEqual(
      expect.objectContaining({
        backfillScenario: 'workflowFirstLoad',
        backfillSeconds: 8,
        ratioToBackfill: 1.125,
        serialRatioToBackfill: 1.5,
      }),
    );
    expect(r.bar).toEqual({
      workflowFirstLoad: { sqlPrimaryKeysOnly1: { min: 1, pass: true }, sqlRepository1: { min: 1.2, pass: true } },
      workflowHalfFilled: { sqlRepositoryN: { min: 0.8, pass: true } },
      rss: { maxMb: BAR.rssMb, pass: true },
      history: { maxEventsPerMillionRows: BAR.historyEventsPerMillionRows, pass: true },
      verify: { maxRatioToBackfill: BAR.verify, pass: true },
    });
  });

  test('the bar fails on each part it checks', () => {
    const r = buildReport(
      measurements({
        scenarios: { workflowFirstLoad: run(9, 1_000_000, [401]), workflowHalfFilled: run(4, 500_000, [200], 300) },
        verify: { serial: verifyPass(1, 20), parallel: verifyPass(2, 14, 1) },
      }),
    );
    expect(r.bar.workflowFirstLoad).toEqual({ sqlPrimaryKeysOnly1: { min: 1, pass: false }, sqlRepository1: { min: 1.2, pass: false } });
    expect(r.bar.workflowHalfFilled).toEqual({ sqlRepositoryN: { min: 0.8, pass: false } });
    expect(r.bar.rss.pass).toBe(false);
    expect(r.bar.history.pass).toBe(false);
    expect(r.bar.verify.pass).toBe(false);
  });

  test('with only the half-filled scenario, verify is compared with its two runs together', () => {
    const { workflowHalfFilled } = measurements().scenarios;
    const r = buildReport(measurements({ scenarios: { workflowHalfFilled } }));
    expect(Object.keys(r.scenarios)).toEqual(['workflowHalfFilled']);
    expect(r.bar.workflowFirstLoad).toBeUndefined();
    expect(r.verify).toEqual(
      expect.objectContaining({ backfillScenario: 'workflowHalfFilled', backfillSeconds: 6.5, ratioToBackfill: 1.385 }),
    );
  });

  test('the online cut-over: its maintenance window against the first load, and the bar on it and on its verify', () => {
    const online = {
      migrationSeconds: 30,
      maintenanceSeconds: 0.6,
      windowSteps: [
        { step: 'delta' as const, seconds: 0.4 },
        { step: 'maintenance-off' as const, seconds: 0.05 },
      ],
      backfillSeconds: 12,
      catchUpPasses: 1,
      preDelta: {
        runId: 'p',
        afterId: 5,
        upToId: 10,
        newArtifacts: 5,
        newVersions: 5,
        changedVersions: 1,
        artifactsRead: 6,
        errorsCount: 0,
      },
      delta: {
        runId: 'r',
        afterId: 10,
        upToId: 20,
        newArtifacts: 10,
        newVersions: 10,
        changedVersions: 2,
        artifactsRead: 12,
        errorsCount: 0,
      },
      writes: { inserted: 300, updated: 30, refusedInMaintenance: 12, cutOverAtSeconds: 29.51, seconds: 30.04 },
      verify: { versions: 2310, mismatches: 0, missingInRepository: 0, extraInRepository: 0, problems: [] },
    };
    const r = buildReport(measurements({ online }));
    expect(r.online).toEqual(
      expect.objectContaining({
        maintenanceSeconds: 0.6,
        offlineBackfillScenario: 'workflowFirstLoad',
        offlineBackfillSeconds: 8,
        maintenanceRatioToOfflineBackfill: 0.075,
      }),
    );
    expect(r.bar.online).toEqual({ maxRatioToOfflineBackfill: BAR.onlineMaintenance, pass: true });
    const lines = summaryLines(r);
    expect(lines.find((l) => l.startsWith('online:'))).toMatch(
      /maintenance 0\.6s = 7\.5% of the offline backfill \(workflowFirstLoad, 8s\): delta 0\.4s, maintenance-off 0\.05s; pre-delta 5 new, 1 changed; delta 10 new, 2 changed;/,
    );
    expect(lines.at(-1)).toMatch(/; online: pass$/);
    expect(buildReport(measurements({ online: { ...online, maintenanceSeconds: 0.9 } })).bar.online?.pass).toBe(false);
    const unequal = { ...online, verify: { ...online.verify, missingInRepository: 1, problems: ['1 version missing'] } };
    expect(buildReport(measurements({ online: unequal })).bar.online?.pass).toBe(false);
    expect(() => buildReport(measurements({ online, scenarios: { workflowHalfFilled: run(2, 1, [1]) } }))).toThrow(/workflowFirstLoad/);
  });

  test('the summary says what the report says, one line per phase and every check of the bar', () => {
    const lines = summaryLines(buildReport(measurements()));
    expect(lines).toHaveLength(6);
    expect(lines[1]).toBe(
      'baselines: sqlRepository1 100000 rows/s (10s), sqlRepositoryN 200000 rows/s (5s), sqlPrimaryKeysOnly1 125000 rows/s (8s)',
    );
    expect(lines[2]).toMatch(
      /^workflowFirstLoad: 1000000 rows in 8s = 125000 rows\/s; 1\.25× sqlRepository1, 0\.63× sqlRepositoryN, 1\.00× sqlPrimaryKeysOnly1;/,
    );
    expect(lines[2]).toMatch(/100 history events per 1M rows; worker peak RSS 300, 310 MB$/);
    expect(lines[3]).toMatch(/^workflowHalfFilled: 500000 rows in 2\.5s = 200000 rows\/s after a fill run of 1000 artifacts \(4s\);/);
    expect(lines[4]).toBe('verify: serial 12s, 2 sessions 9s = 1.13× the backfill (workflowFirstLoad, 8s); 0 mismatches');
    expect(lines[5]).toBe(
      'bar: workflowFirstLoad ≥ 1.00× sqlPrimaryKeysOnly1: pass; workflowFirstLoad ≥ 1.20× sqlRepository1: pass; ' +
        'workflowHalfFilled ≥ 0.80× sqlRepositoryN: pass; rss: pass; history: pass; verify: pass',
    );
  });
});

describe('bench options', () => {
  test('--scenarios picks the workflow scenarios, both by default, always first load first', () => {
    expect(parseOptions([]).scenarios).toEqual(['workflowFirstLoad', 'workflowHalfFilled']);
    expect(parseOptions(['--scenarios', 'half', '--online-rate', '0']).scenarios).toEqual(['workflowHalfFilled']);
    expect(parseOptions(['--scenarios', 'half,first']).scenarios).toEqual(['workflowFirstLoad', 'workflowHalfFilled']);
    for (const bad of ['', 'full', 'first,,half']) expect(() => parseOptions(['--scenarios', bad])).toThrow(UsageError);
    expect(() => parseOptions(['--shards', '33'])).toThrow(/--shards must be at most 32/);
  });

  test('the online cut-over runs by default at 20 versions/s, needs the first load to compare with, and takes its flags', () => {
    expect(parseOptions([])).toEqual(expect.objectContaining({ onlineRate: 20, onlineUpdates: 0.1 }));
    expect(parseOptions(['--online-rate', '50', '--online-updates', '0.5'])).toEqual(
      expect.objectContaining({ onlineRate: 50, onlineUpdates: 0.5 }),
    );
    expect(() => parseOptions(['--scenarios', 'half'])).toThrow(/--online-rate compares the maintenance window with the first scenario/);
    for (const bad of ['x', '11', '1e-1']) expect(() => parseOptions(['--online-updates', bad])).toThrow(/--online-updates must be/);
    expect(() => parseOptions(['--online-rate', '2.5'])).toThrow(/--online-rate must be a positive integer/);
  });

  test('the workflow input carries the range, and shards only when the backfill accepts the field', () => {
    const input = backfillInput(500, 3, { afterArtifactId: 41 });
    expect(input).toEqual(expect.objectContaining({ environment: 'bench', batchSize: 500, resumeFrom: 'artifact:41' }));
    expect(backfillInput(500, 3, { limit: 10 }).limit).toBe(10);
    // Never a field the workflow's own validation refuses.
    expect(checkBackfillInput(input)).toEqual([]);
    expect(input.shards === 3).toBe(checkBackfillInput({ environment: 'bench', shards: 3 }).length === 0);
  });
});
