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
