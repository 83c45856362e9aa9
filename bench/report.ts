/** The one JSON line `npm run bench` prints, with the SPEC §11 bar and whether each part of it passes. */
import os from 'node:os';
import type { CancelProbes } from './cancel-probe';
import type { CpuSeconds } from './cpu-usage';
import type { OnlineMeasurement } from './online-cutover';
import type { ScenarioName } from './options';

export const BAR = {
  /** Scenario rows/s ÷ baseline rows/s, at least (issue 10's bar). */
  ratios: {
    workflowFirstLoad: { sqlPrimaryKeysOnly1: 1.0, sqlRepository1: 1.2 },
    workflowHalfFilled: { sqlRepositoryN: 0.8 },
  } satisfies Record<ScenarioName, Partial<Record<BaselineName, number>>>,
  /** Peak RSS of every worker process in MB, at most. */
  rssMb: 400,
  /** Temporal history events per million rows written, at most, in every scenario. */
  historyEventsPerMillionRows: 500,
  /** Parallel verify time ÷ the backfill time of the whole repository, at most. */
  verify: 1.5,
  /** Seconds from a cancel request to the run row `cancelled` (p99), at most. */
  cancelP99Seconds: 5,
  /** The online cut-over's maintenance window ÷ the offline backfill (workflowFirstLoad), at most (issue 11's bar). */
  onlineMaintenance: 0.1,
} as const;

/** The SQL baselines, each on the same data into an empty copy of the repository tables. */
export const BASELINES = ['sqlRepository1', 'sqlRepositoryN', 'sqlPrimaryKeysOnly1'] as const;
export type BaselineName = (typeof BASELINES)[number];

export interface BaselineMeasurement {
  seconds: number;
  totalRows: number;
  /** Parallel sessions. */
  sessions: number;
  secondsByTable: Record<string, number>;
  cpuSeconds: CpuSeconds;
}

/** One measured workflow run (a scenario). */
export interface WorkflowMeasurement {
  /** From the start request to the workflow's result. */
  seconds: number;
  /** Rows written by this run: versions + series + KPIs + events + plans. */
  totalRows: number;
  /** Temporal history events over the run's whole continue-as-new chain. */
  historyEvents: number;
  /** Executions in that chain. */
  runs: number;
  /** The shards the run was asked for; null when the backfill of this build takes no `shards` (it then ran its own way). */
  shards: number | null;
  cpuSeconds: CpuSeconds;
  /** Peak RSS of each of this run's worker processes, in start order. */
  workersPeakRssMb: number[];
  /** workflowHalfFilled: the unmeasured run that filled the first half of the artifacts before it. */
  fill?: { seconds: number; totalRows: number; artifacts: number };
}

export interface VerifyMeasurement {
  /** Sessions walking parts of the id range (verify.parallel). */
  sessions: number;
  seconds: number;
  versions: number;
  mismatches: number;
  cpuSeconds: CpuSeconds;
}

export interface Measurements {
  artifacts: number;
  plans: number;
  versionsPerPlan: number;
  seriesPerArtifact: number;
  batchSize: number;
  /** --worker-heap-mb, when set. */
  workerHeapMb: number | null;
  seriesRows: number;
  rowsByTable: Record<string, number>;
  generateSeconds: number;
  baselines: Record<BaselineName, BaselineMeasurement>;
  /** The scenarios that ran (--scenarios). */
  scenarios: Partial<Record<ScenarioName, WorkflowMeasurement>>;
  /** Full verify passes of the complete repository, one session and `--shards` sessions. */
  verify: { serial: VerifyMeasurement; parallel: VerifyMeasurement };
  cancel: CancelProbes | null;
  /** The online cut-over scenario (--online-rate), or null when skipped. */
  online: OnlineMeasurement | null;
  database: string;
  /** 1-minute load averages when the run started and ended: other load on the machine skews the timings. */
  loadAverage: { before: number[]; after: number[] };
}

const round = (n: number, digits = 3): number => Number(n.toFixed(digits));

const rowsPerSecond = (b: { totalRows: number; seconds: number }): number => b.totalRows / b.seconds;

function baselineReport(b: BaselineMeasurement) {
  return {
    seconds: round(b.seconds),
    rowsPerSecond: Math.round(rowsPerSecond(b)),
    sessions: b.sessions,
    secondsByTable: Object.fromEntries(Object.entries(b.secondsByTable).map(([t, s]) => [t, round(s)])),
    cpuSeconds: b.cpuSeconds,
  };
}

function scenarioReport(w: WorkflowMeasurement, baselines: Record<BaselineName, BaselineMeasurement>) {
  const rate = rowsPerSecond(w);
  return {
    seconds: round(w.seconds),
    totalRows: w.totalRows,
    rowsPerSecond: Math.round(rate),
    /** This run's rows/s ÷ each baseline's rows/s. */
    ratios: Object.fromEntries(BASELINES.map((name) => [name, round(rate / rowsPerSecond(baselines[name]))])) as Record<
      BaselineName,
      number
    >,
    shards: w.shards,
    workers: w.workersPeakRssMb.length,
    workersPeakRssMb: w.workersPeakRssMb.map((mb) => round(mb, 1)),
    historyEvents: w.historyEvents,
    historyEventsPerMillionRows: round(w.historyEvents / (w.totalRows / 1e6), 1),
    runs: w.runs,
    cpuSeconds: w.cpuSeconds,
    ...(w.fill ? { fill: { seconds: round(w.fill.seconds), totalRows: w.fill.totalRows, artifacts: w.fill.artifacts } } : {}),
  };
}

/** Per baseline: the least ratio the bar asks of a scenario, and whether it holds. */
type RatioChecks = Record<string, { min: number; pass: boolean }>;

const verifyReport = (v: VerifyMeasurement) => ({ ...v, seconds: round(v.seconds) });

/**
 * What the verify is compared with: the first load of the whole repository, or (when only the half-filled
 * scenario ran) its two runs, which together wrote the whole repository.
 */
function backfillOfWhole(scenarios: Measurements['scenarios']): { scenario: ScenarioName; seconds: number } {
  const first = scenarios.workflowFirstLoad;
  if (first) return { scenario: 'workflowFirstLoad', seconds: first.seconds };
  const half = scenarios.workflowHalfFilled;
  if (!half) throw new Error('no workflow scenario ran');
  return { scenario: 'workflowHalfFilled', seconds: half.seconds + (half.fill?.seconds ?? 0) };
}

/**
 * The online migration against the offline one: an offline cut-over keeps maintenance on for the whole
 * backfill, which is workflowFirstLoad's run (the same data into the empty repository, without the writes).
 */
function onlineReport(o: OnlineMeasurement, offlineBackfillSeconds: number) {
  return {
    migrationSeconds: round(o.migrationSeconds),
    backfillSeconds: round(o.backfillSeconds),
    catchUpPasses: o.catchUpPasses,
    maintenanceSeconds: round(o.maintenanceSeconds),
    windowSteps: o.windowSteps,
    preDelta: o.preDelta,
    delta: o.delta,
    writes: {
      ...o.writes,
      seconds: round(o.writes.seconds, 1),
      cutOverAtSeconds: o.writes.cutOverAtSeconds && round(o.writes.cutOverAtSeconds, 1),
    },
    verify: o.verify,
    offlineBackfillScenario: 'workflowFirstLoad' as const,
    offlineBackfillSeconds: round(offlineBackfillSeconds),
    /** Maintenance seconds ÷ offline backfill seconds (what the bar checks). */
    maintenanceRatioToOfflineBackfill: round(o.maintenanceSeconds / offlineBackfillSeconds),
  };
}

export function buildReport(m: Measurements) {
  const names = (Object.keys(BAR.ratios) as ScenarioName[]).filter((name) => m.scenarios[name]);
  const scenarios = Object.fromEntries(names.map((name) => [name, scenarioReport(m.scenarios[name]!, m.baselines)])) as Partial<
    Record<ScenarioName, ReturnType<typeof scenarioReport>>
  >;
  const workerPeakRssMb = Math.max(...names.flatMap((name) => m.scenarios[name]!.workersPeakRssMb));
  const backfill = backfillOfWhole(m.scenarios);
  const verifyRatio = m.verify.parallel.seconds / backfill.seconds;
  const scenarioBar = (name: ScenarioName): RatioChecks =>
    Object.fromEntries(
      Object.entries(BAR.ratios[name]).map(([baseline, min]) => [
        baseline,
        { min, pass: scenarios[name]!.ratios[baseline as BaselineName] >= min },
      ]),
    );
  const mostEvents = Math.max(...names.map((name) => scenarios[name]!.historyEventsPerMillionRows));
  const first = m.scenarios.workflowFirstLoad;
  if (m.online && !first) throw new Error('the online cut-over is compared with workflowFirstLoad, which did not run');
  const online = m.online ? onlineReport(m.online, first!.seconds) : null;
  return {
    artifacts: m.artifacts,
    plans: m.plans,
    versionsPerPlan: m.versionsPerPlan,
    seriesPerArtifact: m.seriesPerArtifact,
    batchSize: m.batchSize,
    seriesRows: m.seriesRows,
    /** Rows of the complete repository (what every baseline writes). */
    totalRows: Object.values(m.rowsByTable).reduce((a, b) => a + b, 0),
    rowsByTable: m.rowsByTable,
    generateSeconds: round(m.generateSeconds, 1),
    baselines: Object.fromEntries(BASELINES.map((name) => [name, baselineReport(m.baselines[name])])) as Record<
      BaselineName,
      ReturnType<typeof baselineReport>
    >,
    scenarios,
    /** The largest peak RSS of any worker in any scenario. */
    workerPeakRssMb: round(workerPeakRssMb, 1),
    ...(m.workerHeapMb ? { workerHeapMb: m.workerHeapMb } : {}),
    verify: {
      serial: verifyReport(m.verify.serial),
      parallel: verifyReport(m.verify.parallel),
      backfillScenario: backfill.scenario,
      backfillSeconds: round(backfill.seconds),
      /** Parallel verify seconds ÷ backfill seconds (what the bar checks). */
      ratioToBackfill: round(verifyRatio),
      serialRatioToBackfill: round(m.verify.serial.seconds / backfill.seconds),
    },
    ...(m.cancel ? { cancel: m.cancel } : {}),
    ...(online ? { online } : {}),
    bar: {
      ...(Object.fromEntries(names.map((name) => [name, scenarioBar(name)])) as Partial<Record<ScenarioName, RatioChecks>>),
      rss: { maxMb: BAR.rssMb, pass: workerPeakRssMb <= BAR.rssMb },
      history: { maxEventsPerMillionRows: BAR.historyEventsPerMillionRows, pass: mostEvents <= BAR.historyEventsPerMillionRows },
      verify: {
        maxRatioToBackfill: BAR.verify,
        pass: verifyRatio <= BAR.verify && m.verify.parallel.mismatches === 0 && m.verify.serial.mismatches === 0,
      },
      ...(m.cancel ? { cancel: { maxP99Seconds: BAR.cancelP99Seconds, pass: m.cancel.p99Seconds <= BAR.cancelP99Seconds } } : {}),
      ...(online
        ? {
            online: {
              maxRatioToOfflineBackfill: BAR.onlineMaintenance,
              pass:
                online.maintenanceRatioToOfflineBackfill <= BAR.onlineMaintenance &&
                online.verify.problems.length === 0 &&
                online.verify.mismatches === 0,
            },
          }
        : {}),
    },
    machine: {
      cpus: os.cpus().length,
      node: process.version,
      database: m.database,
      loadAverage1m: { before: round(m.loadAverage.before[0], 2), after: round(m.loadAverage.after[0], 2) },
    },
  };
}

export type BenchReport = ReturnType<typeof buildReport>;

const x = (ratio: number) => `${ratio.toFixed(2)}×`;

/** Every check of the bar as "name: pass|FAIL", in report order. */
function barLines(bar: BenchReport['bar']): string[] {
  return Object.entries(bar).flatMap(([name, check]) =>
    'pass' in check
      ? [`${name}: ${check.pass ? 'pass' : 'FAIL'}`]
      : Object.entries(check as RatioChecks).map(([baseline, c]) => `${name} ≥ ${x(c.min)} ${baseline}: ${c.pass ? 'pass' : 'FAIL'}`),
  );
}

/** The report for a person, one line per phase, from the report itself (so the two never disagree). */
export function summaryLines(r: BenchReport): string[] {
  const lines = [
    `${r.artifacts} artifacts, ${r.totalRows} repository rows, batch ${r.batchSize}, ${r.machine.cpus} cpus, ${r.machine.database}`,
    `baselines: ${BASELINES.map((name) => `${name} ${r.baselines[name].rowsPerSecond} rows/s (${r.baselines[name].seconds}s)`).join(', ')}`,
  ];
  for (const [name, s] of Object.entries(r.scenarios)) {
    const fill = s.fill ? ` after a fill run of ${s.fill.artifacts} artifacts (${s.fill.seconds}s)` : '';
    lines.push(
      `${name}: ${s.totalRows} rows in ${s.seconds}s = ${s.rowsPerSecond} rows/s${fill}; ` +
        `${BASELINES.map((b) => `${x(s.ratios[b])} ${b}`).join(', ')}; shards ${s.shards ?? 'n/a'}, ` +
        `${s.historyEventsPerMillionRows} history events per 1M rows; worker peak RSS ${s.workersPeakRssMb.join(', ')} MB`,
    );
  }
  const v = r.verify;
  lines.push(
    `verify: serial ${v.serial.seconds}s, ${v.parallel.sessions} sessions ${v.parallel.seconds}s = ${x(v.ratioToBackfill)} the backfill ` +
      `(${v.backfillScenario}, ${v.backfillSeconds}s); ${v.parallel.mismatches} mismatches`,
  );
  if (r.cancel) lines.push(`cancel: p50 ${r.cancel.p50Seconds}s, p99 ${r.cancel.p99Seconds}s over ${r.cancel.probes} probes`);
  if (r.online) {
    const o = r.online;
    lines.push(
      `online: migration ${o.migrationSeconds}s with the application writing (${o.writes.inserted} versions appended, ` +
        `${o.writes.updated} rewritten, ${o.writes.refusedInMaintenance} refused in maintenance); backfill ${o.backfillSeconds}s, ` +
        `${o.catchUpPasses} catch-up passes; maintenance ${o.maintenanceSeconds}s = ${(100 * o.maintenanceRatioToOfflineBackfill).toFixed(1)}% ` +
        `of the offline backfill (${o.offlineBackfillScenario}, ${o.offlineBackfillSeconds}s): ` +
        `${o.windowSteps.map((s) => `${s.step} ${s.seconds}s`).join(', ')}; ` +
        `${o.preDelta ? `pre-delta ${o.preDelta.newArtifacts} new, ${o.preDelta.changedVersions} changed; ` : ''}` +
        `delta ${o.delta.newArtifacts} new, ${o.delta.changedVersions} changed; verify ${o.verify.mismatches} mismatches`,
    );
  }
  lines.push(`bar: ${barLines(r.bar).join('; ')}`);
  return lines;
}

/** What bench/main.ts sends to the launcher (bench/run.ts). */
export type BenchMessage = { type: 'report'; report: BenchReport };

/** What the launcher sends to bench/main.ts: the user interrupted the run (Ctrl-C, SIGTERM). */
export type LauncherMessage = { type: 'stop'; signal: 'SIGINT' | 'SIGTERM' };
