/** The one JSON line `npm run bench` prints, with the SPEC §11 bar and whether each part of it passes. */
import os from 'node:os';
import type { CancelProbes } from './cancel-probe';
import type { CpuSeconds } from './cpu-usage';

export const BAR = {
  /** Workflow rows/s ÷ baseline rows/s, at least. */
  ratio: 0.8,
  /** Worker peak RSS in MB, at most. */
  rssMb: 400,
  /** Verify time ÷ backfill time, at most. */
  verify: 1.5,
  /** Seconds from a cancel request to the run row `cancelled` (p99), at most. */
  cancelP99Seconds: 5,
} as const;

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
  baseline: { seconds: number; totalRows: number; secondsByTable: Record<string, number>; cpuSeconds: CpuSeconds };
  workflow: { seconds: number; totalRows: number; historyEvents: number; runs: number; cpuSeconds: CpuSeconds };
  workerPeakRssMb: number;
  verify: { seconds: number; versions: number; mismatches: number; cpuSeconds: CpuSeconds };
  cancel: CancelProbes | null;
  database: string;
  /** 1-minute load averages when the run started and ended: other load on the machine skews the timings. */
  loadAverage: { before: number[]; after: number[] };
}

const round = (n: number, digits = 3): number => Number(n.toFixed(digits));

export function buildReport(m: Measurements) {
  const baselineRate = m.baseline.totalRows / m.baseline.seconds;
  const workflowRate = m.workflow.totalRows / m.workflow.seconds;
  const ratio = workflowRate / baselineRate;
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
    baseline: {
      seconds: round(m.baseline.seconds),
      rowsPerSecond: Math.round(baselineRate),
      secondsByTable: Object.fromEntries(Object.entries(m.baseline.secondsByTable).map(([t, s]) => [t, round(s)])),
      cpuSeconds: m.baseline.cpuSeconds,
    },
    workflow: {
      seconds: round(m.workflow.seconds),
      rowsPerSecond: Math.round(workflowRate),
      historyEvents: m.workflow.historyEvents,
      runs: m.workflow.runs,
      historyEventsPerMillionRows: round(m.workflow.historyEvents / (m.workflow.totalRows / 1e6), 1),
      cpuSeconds: m.workflow.cpuSeconds,
    },
    ratio: round(ratio),
    workerPeakRssMb: round(m.workerPeakRssMb, 1),
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
      rss: { maxMb: BAR.rssMb, pass: m.workerPeakRssMb <= BAR.rssMb },
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
