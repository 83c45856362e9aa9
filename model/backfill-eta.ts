/**
 * A backfill's ETA before it has a rate of its own: predicted from a rate measured on an earlier run (the
 * environment before it in the promotion order), then the run's own rate once it has read a few batches.
 * Pure.
 */

/** Batches a run reads before its own rate replaces the predicted one (the first batches warm caches and the tuner). */
export const MIN_MEASURED_BATCHES = 3;

/** A closed run's measured rate: what the prediction is built on. */
export interface MeasuredRate {
  environment: string;
  runId: string;
  artifactsRead: number;
  seconds: number;
  artifactsPerSecond: number;
  finishedAt: string;
}

export type EtaPrediction =
  | {
      /** The environment whose run the rate comes from. */
      fromEnvironment: string;
      fromRunId: string;
      artifactsPerSecond: number;
      /** Artifacts this environment's backfill reads (its legacy row count). */
      artifacts: number;
      etaSeconds: number;
      measuredAt: string;
    }
  | { fromEnvironment: string | null; unavailable: string };

/** The rate of a closed run, or null when it read nothing or has no duration. */
export function measuredRate(run: {
  environment: string;
  runId: string;
  artifactsRead: number;
  startedAt: string;
  finishedAt: string | null;
}): MeasuredRate | null {
  if (!run.finishedAt || run.artifactsRead <= 0) return null;
  const seconds = (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
  if (!(seconds > 0)) return null;
  return {
    environment: run.environment,
    runId: run.runId,
    artifactsRead: run.artifactsRead,
    seconds,
    artifactsPerSecond: run.artifactsRead / seconds,
    finishedAt: run.finishedAt,
  };
}

/** The environment listed before `environment` in `order` (the promotion order), or null for the first. */
export function previousEnvironment(order: readonly string[], environment: string): string | null {
  const at = order.indexOf(environment);
  return at > 0 ? order[at - 1] : null;
}

/** The ETA of reading `artifacts` at the measured rate. */
export function predictEta(rate: MeasuredRate, artifacts: number): EtaPrediction {
  return {
    fromEnvironment: rate.environment,
    fromRunId: rate.runId,
    artifactsPerSecond: Math.round(rate.artifactsPerSecond * 10) / 10,
    artifacts,
    etaSeconds: Math.ceil(artifacts / rate.artifactsPerSecond),
    measuredAt: rate.finishedAt,
  };
}

/** The predicted rate of a prediction, or null when there is none. */
export const predictedRate = (p: EtaPrediction | null | undefined): number | null =>
  p && 'artifactsPerSecond' in p ? p.artifactsPerSecond : null;

/**
 * The rate a running backfill's ETA uses: its own once it has read MIN_MEASURED_BATCHES batches (or when
 * there is no prediction), else the predicted one.
 */
export function etaRate(a: { measuredPerSecond: number; artifactsRead: number; batchSize: number; predictedPerSecond: number | null }): {
  perSecond: number;
  source: 'measured' | 'predicted';
} {
  const early = a.artifactsRead < MIN_MEASURED_BATCHES * a.batchSize;
  return early && a.predictedPerSecond !== null && a.predictedPerSecond > 0
    ? { perSecond: a.predictedPerSecond, source: 'predicted' }
    : { perSecond: a.measuredPerSecond, source: 'measured' };
}

/** "about 2h 05m" for operators. */
export function formatSeconds(total: number): string {
  const s = Math.max(0, Math.round(total));
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h ${String(m).padStart(2, '0')}m` : `${m}m ${String(s % 60).padStart(2, '0')}s`;
}

/** One line for preflight, the gate's details and notifications. */
export function describePrediction(p: EtaPrediction): string {
  if ('unavailable' in p) return `no predicted ETA: ${p.unavailable}`;
  return `predicted ETA ${formatSeconds(p.etaSeconds)} for ${p.artifacts} artifacts at ${p.artifactsPerSecond} artifacts/s (measured on ${p.fromEnvironment}, run ${p.fromRunId})`;
}
