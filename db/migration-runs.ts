/** `plan_migration_runs`: each environment migration's evidence, kept beyond Temporal's history retention. */
import type { MigrationEvidence } from '../model/migration';
import { Queryable } from './connection';
import { tableExists } from './server-info';

/**
 * Upserts the whole evidence. Before the first schema migration the table does not exist yet: then
 * nothing is saved (false), and the first save after the `migrate` step stores everything so far.
 */
export async function saveMigrationRun(db: Queryable, e: MigrationEvidence): Promise<boolean> {
  if (!(await tableExists(db, 'plan_migration_runs'))) return false;
  await db.query(
    `INSERT INTO plan_migration_runs (workflow_id, environment, status, current_step, evidence, started_at, finished_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (workflow_id) DO UPDATE SET status = EXCLUDED.status, current_step = EXCLUDED.current_step,
       evidence = EXCLUDED.evidence, finished_at = EXCLUDED.finished_at`,
    [e.workflowId, e.environment, e.status, e.currentStep, JSON.stringify(e), e.startedAt, e.finishedAt],
  );
  return true;
}

export async function getMigrationRun(db: Queryable, workflowId: string): Promise<MigrationEvidence | null> {
  const res = await db.query<{ evidence: MigrationEvidence }>(`SELECT evidence FROM plan_migration_runs WHERE workflow_id = $1`, [
    workflowId,
  ]);
  return res.rows[0]?.evidence ?? null;
}
