/** The maintenance flag the Plan creation API reads (`plan_db_maintenance`, scope `plan_create`). */
import { Queryable } from './connection';

export const PLAN_CREATE_SCOPE = 'plan_create';

export interface MaintenanceState {
  scope: string;
  enabled: boolean;
  reason: string | null;
  actor: string | null;
  since: string | null;
}

export async function getMaintenance(db: Queryable, scope = PLAN_CREATE_SCOPE): Promise<MaintenanceState> {
  const res = await db.query<{ enabled: boolean; reason: string | null; actor: string | null; since: Date }>(
    `SELECT enabled, reason, actor, since FROM plan_db_maintenance WHERE scope = $1`,
    [scope],
  );
  const row = res.rows[0];
  if (!row) return { scope, enabled: false, reason: null, actor: null, since: null };
  return { scope, enabled: row.enabled, reason: row.reason, actor: row.actor, since: row.since.toISOString() };
}

/**
 * The flag table as migration 0000 creates it (there `CREATE TABLE IF NOT EXISTS` too). The first
 * migration of an environment turns maintenance on before its schema migration runs, so the switch
 * brings its own table; a test checks both definitions stay the same.
 */
export const MAINTENANCE_TABLE_DDL = `CREATE TABLE IF NOT EXISTS "plan_db_maintenance" (
	"scope" text PRIMARY KEY NOT NULL,
	"enabled" boolean NOT NULL,
	"reason" text,
	"actor" text,
	"since" timestamp with time zone DEFAULT now() NOT NULL
)`;

export interface MaintenanceChange {
  enabled: boolean;
  reason: string | null;
  actor: string | null;
  scope?: string;
}

/**
 * Upserts the flag: reason and actor always record the latest request, `since` moves only when
 * `enabled` changes, so repeating a request (an activity retry) changes nothing that matters.
 */
export async function setMaintenanceFlag(db: Queryable, change: MaintenanceChange): Promise<{ state: MaintenanceState; changed: boolean }> {
  const scope = change.scope ?? PLAN_CREATE_SCOPE;
  await db.query(MAINTENANCE_TABLE_DDL);
  // `previous` reads the row as it was before this statement (no row: maintenance was off).
  const res = await db.query<{ enabled: boolean; reason: string | null; actor: string | null; since: Date; previous: boolean | null }>(
    `WITH before AS (SELECT enabled FROM plan_db_maintenance WHERE scope = $1)
     INSERT INTO plan_db_maintenance AS m (scope, enabled, reason, actor, since) VALUES ($1, $2, $3, $4, now())
     ON CONFLICT (scope) DO UPDATE SET
       enabled = EXCLUDED.enabled, reason = EXCLUDED.reason, actor = EXCLUDED.actor,
       since = CASE WHEN m.enabled = EXCLUDED.enabled THEN m.since ELSE EXCLUDED.since END
     RETURNING m.enabled, m.reason, m.actor, m.since, (SELECT enabled FROM before) AS previous`,
    [scope, change.enabled, change.reason, change.actor],
  );
  const row = res.rows[0];
  return {
    state: { scope, enabled: row.enabled, reason: row.reason, actor: row.actor, since: row.since.toISOString() },
    changed: (row.previous ?? false) !== row.enabled,
  };
}
