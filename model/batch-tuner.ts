/**
 * The backfill's self-tuning batch size (issue 10, item 5). Pure and deterministic, and its state is plain
 * JSON, so it can run in workflow code, travel in activity inputs, heartbeat details and continue-as-new.
 *
 * The rule follows GitLab's batched background migration BatchOptimizer
 * (lib/gitlab/database/background_migration/batch_optimizer.rb): smooth the recent jobs' timings, do
 * nothing inside a target band, else scale the batch by target / estimate assuming cost is linear in
 * the size, with the growth capped at ×1.2 a step. Two departures, both for a backfill whose batch
 * is one transaction that others wait on:
 * - the smoothing is the median of seconds per artifact over the last few full batches, not an EWMA
 *   of durations: per-artifact cost stays valid across size changes (no waiting for the window to
 *   refill at each new size), and a median ignores one slow batch (a checkpoint, an autovacuum).
 *   A change needs the last 3 batches and the last 7 to agree, except that two of the last 3 far
 *   over the target shrink at once: quick to back off, slow to grow, as AIMD;
 * - AIMD's multiplicative decrease: a throttle hold or a failed batch halves the size at once and
 *   empties the window, so growth starts again only from batches measured after the trouble; a slow
 *   batch without trouble shrinks proportionally, but by at most ×0.5 a step.
 * Growth is multiplicative (×1.2 at most) rather than AIMD's additive step, so the size crosses
 * [50, 5000] in about 25 batches rather than thousands.
 */

export interface TunerConfig {
  /** The batch duration aimed at, in seconds. */
  targetSeconds: number;
  minBatchSize: number;
  maxBatchSize: number;
  /** Off: the size changes only by pin and release (the setBatchSize update). */
  enabled: boolean;
}

/** A batch is one transaction: past a minute it holds back vacuum, and pause or cancel waits that long. */
export const MAX_TARGET_SECONDS = 60;

/** Per step, the size grows by at most this factor (GitLab's MAX_MULTIPLIER). */
export const MAX_GROWTH = 1.2;
/** Per step, a slow batch shrinks the size by at most this factor; trouble (throttle, error) by exactly it. */
export const BACKOFF = 0.5;
/** No change while the estimated duration is within ±BAND of the target: noise must not move the size. */
export const BAND = 0.1;
/** Full batches whose timings are kept. */
export const WINDOW = 7;
/** Full batches needed before a decision: the median of fewer is one batch's word. */
export const MIN_SAMPLES = 3;

/** Why the size (or its pin) changed; what a history entry records. */
export type BatchSizeChangeReason = 'grow' | 'shrink' | 'throttle' | 'error' | 'pin' | 'release';
/** Why an observation left the size alone. */
export type BatchSizeKeptReason =
  'disabled' | 'pinned' | 'partial-batch' | 'warming-up' | 'within-band' | 'at-limit' | 'same-hold' | 'not-pinned';

export interface TunerState {
  config: TunerConfig;
  size: number;
  /** Set by pin (setBatchSize) until release: observations then change nothing. */
  pinned: boolean;
  /** Seconds per artifact of the last WINDOW full batches, oldest first. */
  recent: number[];
  lastChange: { reason: BatchSizeChangeReason; from: number; to: number } | null;
  /** A throttle hold has halved the size and no batch has finished since: later checks of that hold are the same hold. */
  holding: boolean;
}

export interface TunerStep {
  state: TunerState;
  /** The size or the pin changed: record it (db/batch-size-history.ts) and show it. */
  changed: boolean;
  reason: BatchSizeChangeReason | BatchSizeKeptReason;
  from: number;
  to: number;
}

/** One entry of a run's batch size history (db/batch-size-history.ts). */
export interface BatchSizeChange {
  /** ISO timestamp. */
  at: string;
  size: number;
  /** 'initial': the size a run (or a shard) started with. */
  reason: BatchSizeChangeReason | 'initial';
  /** The shard whose tuner chose it; absent for a run-wide size. */
  shard?: number;
}

export interface BatchObservation {
  artifacts: number;
  seconds: number;
  /** The limit the batch was read with (its prefetch may predate the last change); default: the current size. */
  requested?: number;
}

const clampSize = (config: TunerConfig, n: number) => Math.min(config.maxBatchSize, Math.max(config.minBatchSize, n));

/**
 * size × multiplier rounded toward size, so no step exceeds its cap; growth is at least +1 (AIMD's additive
 * step), else a size under 5 could never grow.
 */
function scaled(size: number, multiplier: number): number {
  if (multiplier < 1) return Math.ceil(size * multiplier);
  return Math.max(size + 1, Math.floor(size * multiplier));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const kept = (state: TunerState, reason: BatchSizeKeptReason): TunerStep => ({
  state,
  changed: false,
  reason,
  from: state.size,
  to: state.size,
});

function resize(state: TunerState, to: number, reason: BatchSizeChangeReason, extra: Partial<TunerState> = {}): TunerStep {
  const from = state.size;
  return { state: { ...state, ...extra, size: to, lastChange: { reason, from, to } }, changed: true, reason, from, to };
}

/**
 * The tuner of a run starting at `initialSize` (backfill.batchSize or the run's input). With tuning on,
 * the size starts clamped into [minBatchSize, maxBatchSize]; off, it is kept as given.
 */
export function initialTuner(config: TunerConfig & { initialSize: number }): TunerState {
  const { initialSize, ...tuning } = config;
  return {
    config: tuning,
    size: tuning.enabled ? clampSize(tuning, Math.round(initialSize)) : initialSize,
    pinned: false,
    recent: [],
    lastChange: null,
    holding: false,
  };
}

/** A batch committed: learn its timing and, out of the band, scale the size toward the target. */
export function observeBatch(state: TunerState, batch: BatchObservation): TunerStep {
  // The last batch of a range, or a run's limit, cuts a batch short: its fixed costs would skew the rate.
  if (batch.artifacts <= 0 || batch.seconds <= 0 || batch.artifacts < (batch.requested ?? state.size)) return kept(state, 'partial-batch');
  const learnt: TunerState = { ...state, recent: [...state.recent, batch.seconds / batch.artifacts].slice(-WINDOW), holding: false };
  if (!state.config.enabled) return kept(learnt, 'disabled');
  if (state.pinned) return kept(learnt, 'pinned');
  if (learnt.recent.length < MIN_SAMPLES) return kept(learnt, 'warming-up');
  const target = state.config.targetSeconds;
  // Each estimate is a median, so one odd batch moves nothing. Out of the band both the last MIN_SAMPLES
  // batches and the whole window must agree, except that the last ones far over the target shrink at
  // once: quick to back off, slow to grow (AIMD's asymmetry).
  const latest = median(learnt.recent.slice(-MIN_SAMPLES)) * state.size;
  const settled = median(learnt.recent) * state.size;
  let estimate: number;
  if (latest > (1 + 2 * BAND) * target) estimate = latest;
  else if (Math.min(latest, settled) > (1 + BAND) * target) estimate = Math.min(latest, settled);
  else if (Math.max(latest, settled) < (1 - BAND) * target) estimate = Math.max(latest, settled);
  else return kept(learnt, 'within-band');
  const multiplier = Math.min(MAX_GROWTH, Math.max(BACKOFF, target / estimate));
  const to = clampSize(state.config, scaled(state.size, multiplier));
  if (to === state.size) return kept(learnt, 'at-limit');
  return resize(learnt, to, to > state.size ? 'grow' : 'shrink');
}

function backOff(state: TunerState, reason: 'throttle' | 'error'): TunerStep {
  // Timings from before the trouble would argue for growing straight back.
  const calm: TunerState = { ...state, recent: [], holding: reason === 'throttle' || state.holding };
  if (!state.config.enabled) return kept(calm, 'disabled');
  if (state.pinned) return kept(calm, 'pinned');
  const to = clampSize(state.config, scaled(state.size, BACKOFF));
  return to === state.size ? kept(calm, 'at-limit') : resize(calm, to, reason);
}

/** The health throttle held the backfill: halve, once per hold (call it on every held check). */
export function observeThrottle(state: TunerState): TunerStep {
  if (state.holding) return kept(state, 'same-hold');
  return backOff(state, 'throttle');
}

/** A batch failed (its transaction rolled back): halve, every time, so a size that times out keeps shrinking. */
export function observeError(state: TunerState): TunerStep {
  return backOff(state, 'error');
}

/**
 * The operator's size (setBatchSize, already validated against MIN_BATCH_SIZE..MAX_BATCH_SIZE): kept as
 * given, even outside the tuning bounds, until release.
 */
export function pin(state: TunerState, size: number): TunerStep {
  const step = resize({ ...state, pinned: true }, size, 'pin');
  return { ...step, changed: size !== state.size || !state.pinned };
}

/** Tuning resumes from the pinned size, brought into the tuning bounds. */
export function release(state: TunerState): TunerStep {
  if (!state.pinned) return kept(state, 'not-pinned');
  const to = state.config.enabled ? clampSize(state.config, state.size) : state.size;
  return resize({ ...state, pinned: false }, to, 'release');
}

/** The history entry for `step`, or null when it changed nothing worth recording. */
export function batchSizeChange(step: TunerStep, at: string, shard?: number): BatchSizeChange | null {
  if (!step.changed) return null;
  // Every changed step comes from resize, whose reason is a change reason.
  return { at, size: step.to, reason: step.reason as BatchSizeChangeReason, ...(shard !== undefined && { shard }) };
}
