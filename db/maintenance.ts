/**
 * The maintenance flag the Plan creation API reads (`plan_db_maintenance`, scope `plan_create`). The
 * table comes from migration 0000 only: migrations run before any workflow turns maintenance on.
 */
import type pg from 'pg';
import { Queryable } from './connection';
import { tableExists } from './server-info';

export const PLAN_CREATE_SCOPE = 'plan_create';

export interface MaintenanceState {
  scope: string;
  enabled: boolean;
  reason: string | null;
  actor: string | null;
  since: string | null;
  /** The workflow that turned it on; a flag whose owner no longer runs was left behind. */
  ownerWorkflowId: string | null;
}

type FlagRow = { enabled: boolean; reason: string | null; actor: string | null; since: Date; owner_workflow_id: string | null };

const stateOf = (scope: string, row: FlagRow | undefined): MaintenanceState =>
  row
    ? {
        scope,
        enabled: row.enabled,
        reason: row.reason,
        actor: row.actor,
        since: row.since.toISOString(),
        ownerWorkflowId: row.owner_workflow_id,
      }
    : { scope, enabled: false, reason: null, actor: null, since: null, ownerWorkflowId: null };

/** The flag; off when the table or the row does not exist (nothing was ever switched). */
export async function getMaintenance(db: Queryable, scope = PLAN_CREATE_SCOPE): Promise<MaintenanceState> {
  if (!(await tableExists(db, 'plan_db_maintenance'))) return stateOf(scope, undefined);
  const res = await db.query<FlagRow>(`SELECT enabled, reason, actor, since, owner_workflow_id FROM plan_db_maintenance WHERE scope = $1`, [
    scope,
  ]);
  return stateOf(scope, res.rows[0]);
}

export interface MaintenanceChange {
  enabled: boolean;
  reason: string | null;
  actor: string | null;
  /** Recorded while enabled; cleared when maintenance is lifted. */
  ownerWorkflowId?: string | null;
  scope?: string;
}

export class MaintenanceTableMissing extends Error {
  constructor() {
    super('plan_db_maintenance does not exist: apply the migrations first (`plandb db upgrade --env <env>`)');
    this.name = 'MaintenanceTableMissing';
  }
}

/**
 * Upserts the flag: reason and actor always record the latest request, `since` moves only when
 * `enabled` changes, so repeating a request (an activity retry) changes nothing that matters.
 * Lifting maintenance where the table does not exist is a no-op: it was never on.
 */
export async function setMaintenanceFlag(db: Queryable, change: MaintenanceChange): Promise<{ state: MaintenanceState; changed: boolean }> {
  const scope = change.scope ?? PLAN_CREATE_SCOPE;
  if (!(await tableExists(db, 'plan_db_maintenance'))) {
    if (change.enabled) throw new MaintenanceTableMissing();
    return { state: stateOf(scope, undefined), changed: false };
  }
  // `previous` reads the row as it was before this statement (no row: maintenance was off).
  const res = await db.query<FlagRow & { previous: boolean | null }>(
    `WITH before AS (SELECT enabled FROM plan_db_maintenance WHERE scope = $1)
     INSERT INTO plan_db_maintenance AS m (scope, enabled, reason, actor, since, owner_workflow_id) VALUES ($1, $2, $3, $4, now(), $5)
     ON CONFLICT (scope) DO UPDATE SET
       enabled = EXCLUDED.enabled, reason = EXCLUDED.reason, actor = EXCLUDED.actor, owner_workflow_id = EXCLUDED.owner_workflow_id,
       since = CASE WHEN m.enabled = EXCLUDED.enabled THEN m.since ELSE EXCLUDED.since END
     RETURNING m.enabled, m.reason, m.actor, m.since, m.owner_workflow_id, (SELECT enabled FROM before) AS previous`,
    [scope, change.enabled, change.reason, change.actor, change.enabled ? (change.ownerWorkflowId ?? null) : null],
  );
  const row = res.rows[0];
  return { state: stateOf(scope, row), changed: (row.previous ?? false) !== row.enabled };
}

/**
 * Lifts the flag only if `ownerWorkflowId` still owns it (the reconciler must not lift a flag that a
 * newer migration or an operator set meanwhile). True when it was lifted.
 */
export async function liftOrphanedMaintenance(
  db: Queryable,
  ownerWorkflowId: string,
  reason: string,
  scope = PLAN_CREATE_SCOPE,
): Promise<boolean> {
  const res = await db.query(
    `UPDATE plan_db_maintenance SET enabled = false, since = now(), reason = $3, actor = 'plandb:reconciler', owner_workflow_id = NULL
      WHERE scope = $1 AND enabled AND owner_workflow_id = $2`,
    [scope, ownerWorkflowId, reason],
  );
  return (res.rowCount ?? 0) > 0;
}

/** How long maintenance-on waits for the application's write transactions already open on plan_artifacts. */
export const DRAIN_TIMEOUT_MS = 10_000;

/** What the drain after maintenance-on found: whether every write open at the flip has ended, or why not known. */
export interface DrainResult {
  drained: boolean;
  waitedMs: number;
  /** Why it could not tell: the wait timed out, or the role may not take the lock. */
  problem: string | null;
}

/**
 * Waits until every transaction that was writing plan_artifacts when maintenance went on has ended: a
 * SHARE lock conflicts with their ROW EXCLUSIVE locks, so taking it (and letting it go at once) is a
 * barrier. Without it, a write the application checked the flag for just before the flip could commit
 * after the final delta read the table. Best effort: a writer open past `timeoutMs`, or a role without
 * the right to the lock, is reported, not thrown (the delta's verify then catches a late commit).
 */
export async function drainLegacyWrites(pool: pg.Pool, timeoutMs = DRAIN_TIMEOUT_MS): Promise<DrainResult> {
  const started = Date.now();
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
    await client.query('LOCK TABLE plan_artifacts IN SHARE MODE');
    await client.query('COMMIT');
    return { drained: true, waitedMs: Date.now() - started, problem: null };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    const code = (err as { code?: string }).code;
    // No legacy table, no writer to wait for.
    if (code === '42P01') return { drained: true, waitedMs: Date.now() - started, problem: null };
    if (code === '55P03')
      return { drained: false, waitedMs: Date.now() - started, problem: `a write to plan_artifacts stayed open past ${timeoutMs} ms` };
    if (code === '42501')
      return {
        drained: false,
        waitedMs: Date.now() - started,
        problem: 'the role may not lock plan_artifacts (needs UPDATE, DELETE or TRUNCATE on it)',
      };
    throw err;
  } finally {
    client.release();
  }
}
