/** The one JSON line `npm run bench` prints, with the SPEC §11 bar and whether each part of it passes. */
import os from 'node:os';
import type { CancelProbes } from './cancel-probe';
import type { CpuSeconds } from './cpu-usage';

export const BAR = {
  /** Workflow rows/s ÷ sqlRepository1 rows/s, at least. */
  ratio: 0.8,
  /** Worker peak RSS in MB, at most. */
  rssMb: 400,
  /** Verify time ÷ backfill time, at most. */
  verify: 1.5,
  /** Seconds from a cancel request to the run row `cancelled` (p99), at most. */
  cancelP99Seconds: 5,
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

export interface Measurements {
  artifacts: number;
  plans: number;
  versionsPerPlan: number;
  seriesPerArtifact: number;
  batchSize: number;
  /** --worker-heap-mb, when set. */
  workerHeapMb: number | null;
  seriesRows: number;
  totalRows: number;
  rowsByTable: Record<string, number>;
  generateSeconds: number;
  baselines: Record<BaselineName, BaselineMeasurement>;
  workflow: { seconds: number; totalRows: number; historyEvents: number; runs: number; workers: number; cpuSeconds: CpuSeconds };
  /** Peak RSS of each workflow-phase worker process. */
  workersPeakRssMb: number[];
  verify: { seconds: number; versions: number; mismatches: number; cpuSeconds: CpuSeconds };
  cancel: CancelProbes | null;
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

export function buildReport(m: Measurements) {
  const workflowRate = rowsPerSecond(m.workflow);
  const baselineRate = (name: BaselineName) => rowsPerSecond(m.baselines[name]);
  const ratio = workflowRate / baselineRate('sqlRepository1');
  const workerPeakRssMb = Math.max(...m.workersPeakRssMb);
  const verifyRatio = m.verify.seconds / m.workflow.seconds;
  return {
    artifacts: m.artifacts,
    plans: m.plans,
    versionsPerPlan: m.versionsPerPlan,
    seriesPerArtifact: m.seriesPerArtifact,
    batchSize: m.batchSize,
    seriesRows: m.seriesRows,
    totalRows: m.totalRows,
    rowsByTable: m.rowsByTable,
    generateSeconds: round(m.generateSeconds, 1),
    baselines: Object.fromEntries(BASELINES.map((name) => [name, baselineReport(m.baselines[name])])) as Record<
      BaselineName,
      ReturnType<typeof baselineReport>
    >,
    workflow: {
      seconds: round(m.workflow.seconds),
      rowsPerSecond: Math.round(workflowRate),
      historyEvents: m.workflow.historyEvents,
      runs: m.workflow.runs,
      workers: m.workflow.workers,
      historyEventsPerMillionRows: round(m.workflow.historyEvents / (m.workflow.totalRows / 1e6), 1),
      cpuSeconds: m.workflow.cpuSeconds,
    },
    /** Workflow rows/s ÷ sqlRepository1 rows/s (what the bar checks). */
    ratio: round(ratio),
    ratios: Object.fromEntries(BASELINES.map((name) => [name, round(workflowRate / baselineRate(name))])) as Record<BaselineName, number>,
    workerPeakRssMb: round(workerPeakRssMb, 1),
    workersPeakRssMb: m.workersPeakRssMb.map((mb) => round(mb, 1)),
    ...(m.workerHeapMb ? { workerHeapMb: m.workerHeapMb } : {}),
    verify: {
      seconds: round(m.verify.seconds),
      versions: m.verify.versions,
      mismatches: m.verify.mismatches,
      ratioToBackfill: round(verifyRatio),
      cpuSeconds: m.verify.cpuSeconds,
    },
    ...(m.cancel ? { cancel: m.cancel } : {}),
    bar: {
      ratio: { min: BAR.ratio, pass: ratio >= BAR.ratio },
      rss: { maxMb: BAR.rssMb, pass: workerPeakRssMb <= BAR.rssMb },
      verify: { maxRatioToBackfill: BAR.verify, pass: verifyRatio <= BAR.verify && m.verify.mismatches === 0 },
      ...(m.cancel ? { cancel: { maxP99Seconds: BAR.cancelP99Seconds, pass: m.cancel.p99Seconds <= BAR.cancelP99Seconds } } : {}),
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

/** What bench/main.ts sends to the launcher (bench/run.ts). */
export type BenchMessage = { type: 'report'; report: BenchReport };

/** What the launcher sends to bench/main.ts: the user interrupted the run (Ctrl-C, SIGTERM). */
export type LauncherMessage = { type: 'stop'; signal: 'SIGINT' | 'SIGTERM' };
