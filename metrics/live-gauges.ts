/**
 * Gauges read from each configured environment's database at scrape time (prom-client `collect`), so any
 * worker reports the same maintenance flag, running migrations, open gates and backfill progress, however
 * many workers there are and whichever ran the workflow. Without a source (tests of the registry alone, the
 * CLI) they report nothing.
 */
import { Gauge, type Registry } from 'prom-client';
import type { PlandbConfig } from '../config/schema';
import { legacySinceCutover, type LegacySinceCutover } from '../db/legacy-usage';
import { readLiveState, type LiveState } from '../db/live-state';
import type { DatabaseRegistry } from '../db/registry';

export interface LiveSource {
  config: PlandbConfig;
  databases: DatabaseRegistry;
  /** Per environment; a slower database reports nothing for this scrape rather than holding it up. */
  timeoutMs?: number;
}

export const LIVE_READ_TIMEOUT_MS = 2_000;

/** `legacy`: plan_artifacts' usage since the cut-over; null before one (or on a database migrated before 0007). */
type EnvState = LiveState & { legacy: LegacySinceCutover | null };
type States = Map<string, EnvState>;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Environments whose database is unreachable, slow or not migrated are left out. The race also bounds
 * waiting for a connection (a busy pool, a host that does not answer), which query_timeout does not.
 */
async function readAll(source: LiveSource): Promise<States> {
  const ms = source.timeoutMs ?? LIVE_READ_TIMEOUT_MS;
  const entries = await Promise.all(
    Object.keys(source.config.environments).map(async (environment) => {
      try {
        const pool = source.databases.pool(environment);
        const [state, legacy] = await withTimeout(
          Promise.all([readLiveState(pool, ms), legacySinceCutover(pool, environment).catch(() => null)]),
          ms,
        );
        return [environment, { ...state, legacy }] as const;
      } catch {
        return null;
      }
    }),
  );
  return new Map(entries.filter((e) => e !== null));
}

export function createLiveGauges(registry: Registry, source?: LiveSource) {
  // prom-client collects all metrics of a scrape concurrently: the gauges share one read per scrape.
  let inflight: Promise<States> | null = null;
  const states = (): Promise<States> => {
    if (!source) return Promise.resolve(new Map());
    inflight ??= readAll(source).finally(() => {
      inflight = null;
    });
    return inflight;
  };
  function gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (set: (labels: Record<L, string>, value: number) => void, environment: string, state: EnvState) => void,
  ): Gauge<L> {
    return new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const read = await states();
        // Series of an environment that stopped answering, or of a gate that closed, disappear.
        this.reset();
        for (const [environment, state] of read) fill((labels, value) => this.set(labels, value), environment, state);
      },
    });
  }
  const seconds = (d: Date) => d.getTime() / 1000;
  return {
    maintenanceEnabled: gauge(
      'plan_db_maintenance_enabled',
      'Plan creation maintenance flag (plan_db_maintenance, scope plan_create): 1 on, 0 off',
      ['environment'],
      (set, environment, s) => set({ environment }, s.maintenance?.enabled ? 1 : 0),
    ),
    maintenanceSince: gauge(
      'plan_db_maintenance_since_timestamp',
      'Unix time the maintenance flag last changed (on or off); absent when it was never switched',
      ['environment'],
      (set, environment, s) => {
        if (s.maintenance) set({ environment }, seconds(s.maintenance.since));
      },
    ),
    migrationRunning: gauge(
      'plan_migration_running',
      'Migrations of the environment not finished (plan_migration_runs.finished_at IS NULL)',
      ['environment'],
      (set, environment, s) => set({ environment }, s.runningMigrations),
    ),
    migrationWaitingSince: gauge(
      'plan_migration_waiting_since_timestamp',
      'Unix time since which a migration gate has been open (waiting for a person); absent when none is open',
      ['environment', 'gate'],
      (set, environment, s) => {
        for (const g of s.openGates) set({ environment, gate: g.gate }, seconds(g.since));
      },
    ),
    backfillCursor: gauge(
      'plan_backfill_running_cursor',
      'Committed cursor (last plan_artifacts id processed) of the running backfill run; absent when none runs',
      ['environment'],
      (set, environment, s) => {
        if (s.backfillCursor !== null) set({ environment }, s.backfillCursor);
      },
    ),
    legacyWritesSinceCutover: gauge(
      'plan_legacy_table_writes_since_cutover',
      'Rows inserted, updated or deleted in plan_artifacts since the cut-over (or a later plandb legacy-usage --reset); absent before a cut-over',
      ['environment'],
      (set, environment, s) => {
        if (s.legacy) set({ environment }, s.legacy.writes);
      },
    ),
    legacyReadsSinceCutover: gauge(
      'plan_legacy_table_reads_since_cutover',
      "Scans (sequential and index) of plan_artifacts since the cut-over (or a later reset), plandb's own included; absent before a cut-over",
      ['environment'],
      (set, environment, s) => {
        if (s.legacy) set({ environment }, s.legacy.reads);
      },
    ),
    legacyCutoverTimestamp: gauge(
      'plan_legacy_cutover_timestamp_seconds',
      'Unix time of the latest cut-over recorded for the environment (plan_legacy_usage_snapshots); absent before one',
      ['environment'],
      (set, environment, s) => {
        if (s.legacy) set({ environment }, seconds(new Date(s.legacy.cutoverAt)));
      },
    ),
  };
}
