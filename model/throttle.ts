/** The backfill's health throttle: which probe says wait, and how long to wait. Pure (SPEC §12). */

export const THROTTLE_REASONS = ['lock_waits', 'long_transaction', 'autovacuum', 'replication_lag', 'query'] as const;
export type ThrottleReason = (typeof THROTTLE_REASONS)[number];

/** The probes' thresholds; null (or false) turns a probe off. */
export interface ThrottleSettings {
  maxLockWaits: number | null;
  maxTransactionSeconds: number | null;
  autovacuum: boolean;
  maxReplicationLagSeconds: number | null;
  maxReplicationLagBytes: number | null;
  query: string | null;
  initialWaitMs: number;
  maxWaitMs: number;
}

/** What the probes read; a probe that is off (or has nothing to measure) leaves its field undefined or null. */
export interface HealthReadings {
  /** Lock requests not granted on the repository and legacy tables. */
  lockWaits?: number;
  /** Age of the oldest open transaction of another backend. */
  oldestTransactionSeconds?: number | null;
  /** Autovacuum workers on those tables. */
  autovacuums?: number;
  replicationLagSeconds?: number | null;
  replicationLagBytes?: number | null;
  /** The operator query's value. */
  queryValue?: number | null;
}

export interface ThrottleDecision {
  reason: ThrottleReason;
  detail: string;
}

/** The first probe (in THROTTLE_REASONS order) over its threshold, or null: go on. */
export function throttleDecision(s: ThrottleSettings, r: HealthReadings): ThrottleDecision | null {
  if (s.maxLockWaits !== null && r.lockWaits !== undefined && r.lockWaits > s.maxLockWaits)
    return { reason: 'lock_waits', detail: `${r.lockWaits} lock waits on the backfill's tables (max ${s.maxLockWaits})` };
  const oldest = r.oldestTransactionSeconds;
  if (s.maxTransactionSeconds !== null && oldest != null && oldest > s.maxTransactionSeconds)
    return { reason: 'long_transaction', detail: `a transaction open for ${Math.round(oldest)} s (max ${s.maxTransactionSeconds} s)` };
  if (s.autovacuum && r.autovacuums !== undefined && r.autovacuums > 0)
    return { reason: 'autovacuum', detail: `autovacuum running on ${r.autovacuums} of the backfill's tables` };
  const lagS = r.replicationLagSeconds;
  if (s.maxReplicationLagSeconds !== null && lagS != null && lagS > s.maxReplicationLagSeconds)
    return { reason: 'replication_lag', detail: `replication lag ${Math.round(lagS)} s (max ${s.maxReplicationLagSeconds} s)` };
  const lagB = r.replicationLagBytes;
  if (s.maxReplicationLagBytes !== null && lagB != null && lagB > s.maxReplicationLagBytes)
    return { reason: 'replication_lag', detail: `replication lag ${lagB} bytes (max ${s.maxReplicationLagBytes})` };
  if (s.query !== null && r.queryValue != null && r.queryValue > 0)
    return { reason: 'query', detail: `throttle query returned ${r.queryValue}` };
  return null;
}

/** The wait before the next check after `attempt` (0-based) throttled checks in a row: doubling, capped. */
export function throttleWaitMs(s: Pick<ThrottleSettings, 'initialWaitMs' | 'maxWaitMs'>, attempt: number): number {
  return Math.min(s.initialWaitMs * 2 ** Math.min(attempt, 30), s.maxWaitMs);
}

/** Whether any probe is on: without one the backfill never queries health. */
export function throttleEnabled(s: ThrottleSettings): boolean {
  return (
    s.maxLockWaits !== null ||
    s.maxTransactionSeconds !== null ||
    s.autovacuum ||
    s.maxReplicationLagSeconds !== null ||
    s.maxReplicationLagBytes !== null ||
    s.query !== null
  );
}

/** A backfill held by the throttle: carried from chunk to chunk so the backoff and the held time continue. */
export interface ThrottleHold {
  reason: ThrottleReason;
  detail: string;
  /** Seconds held so far (this hold, across chunks). */
  seconds: number;
  /** Throttled checks in a row. */
  checks: number;
  /** When to check again (ms since the epoch). */
  nextCheckAtMs: number;
}

/** The hold after a check at `nowMs` said wait: the next check one backoff step later. */
export function holdAfterCheck(
  s: Pick<ThrottleSettings, 'initialWaitMs' | 'maxWaitMs'>,
  previous: ThrottleHold | null,
  decision: ThrottleDecision,
  nowMs: number,
): ThrottleHold {
  const checks = previous?.checks ?? 0;
  return { ...decision, seconds: previous?.seconds ?? 0, checks: checks + 1, nextCheckAtMs: nowMs + throttleWaitMs(s, checks) };
}
