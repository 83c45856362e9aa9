/** The backfill's health throttle in an activity: checks between batches, waits with backoff while told to. */
import type { Context } from '@temporalio/activity';
import type pg from 'pg';
import type { ThrottleConfig } from '../config/schema';
import { readHealth } from '../db/health-probes';
import type { PlandbMetrics } from '../metrics/registry';
import { holdAfterCheck, throttleDecision, throttleEnabled, type ThrottleHold } from '../model/throttle';

export interface ThrottleGate {
  pool: pg.Pool;
  environment: string;
  config: ThrottleConfig;
  metrics: PlandbMetrics;
  /** Where replicaUrlEnv is read. */
  env: NodeJS.ProcessEnv;
  ctx: Context | null;
  /** Stop waiting at this time (the chunk's budget): the workflow gets control back, still held. */
  deadlineMs: number;
  /** Called on every change of the hold, for heartbeat details and logs. */
  onHold: (hold: ThrottleHold | null) => void;
}

function sleep(ctx: Context | null, ms: number): Promise<void> {
  // Context.sleep rejects with CancelledFailure when the workflow cancels the activity.
  return ctx ? ctx.sleep(ms) : new Promise((resolve) => setTimeout(resolve, ms));
}

export interface ThrottleWait {
  /** Still held when the deadline came: the chunk returns it and the next chunk carries it on. */
  held: ThrottleHold | null;
  /** Whether it waited at all (a batch read ahead before the wait may then be stale). */
  waited: boolean;
}

/**
 * Waits until the probes say go on or the deadline comes. Never fails for being throttled; a probe's own
 * error (a broken throttle query, an unreachable replica) fails the chunk like a batch's error.
 */
export async function waitWhileThrottled(gate: ThrottleGate, carried: ThrottleHold | null): Promise<ThrottleWait> {
  const { config } = gate;
  if (!throttleEnabled(config)) return { held: null, waited: false };
  const replicaUrl = config.replicaUrlEnv ? gate.env[config.replicaUrlEnv] : undefined;
  if (config.replicaUrlEnv && !replicaUrl) throw new Error(`backfill.throttle.replicaUrlEnv: ${config.replicaUrlEnv} is not set`);
  let hold = carried;
  for (;;) {
    if (hold) {
      // A next check after the budget: hold to the deadline and hand the hold back to the workflow.
      await holdFor(gate, hold, Math.min(hold.nextCheckAtMs, gate.deadlineMs) - Date.now());
      if (hold.nextCheckAtMs > gate.deadlineMs) return { held: hold, waited: true };
    }
    const decision = throttleDecision(config, await readHealth(gate.pool, { settings: config, replicaUrl }));
    if (!decision) {
      if (hold) gate.onHold(null);
      return { held: null, waited: hold !== null };
    }
    hold = holdAfterCheck(config, hold, decision, Date.now());
    gate.onHold(hold);
  }
}

async function holdFor(gate: ThrottleGate, hold: ThrottleHold, ms: number): Promise<void> {
  if (ms <= 0) return;
  const from = Date.now();
  try {
    await sleep(gate.ctx, ms);
  } finally {
    const seconds = (Date.now() - from) / 1000;
    hold.seconds += seconds;
    gate.metrics.backfillThrottledSeconds.inc({ environment: gate.environment, reason: hold.reason }, seconds);
  }
}
