/** `plan_migration_runs`: each environment migration's evidence, kept beyond Temporal's history retention. */
import type { MigrationEvidence } from '../model/migration';
import { Queryable } from './connection';

export async function saveMigrationRun(db: Queryable, e: MigrationEvidence): Promise<void> {
  await db.query(
    `INSERT INTO plan_migration_runs (workflow_id, environment, status, current_step, evidence, started_at, finished_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (workflow_id) DO UPDATE SET status = EXCLUDED.status, current_step = EXCLUDED.current_step,
       evidence = EXCLUDED.evidence, finished_at = EXCLUDED.finished_at`,
    [e.workflowId, e.environment, e.status, e.currentStep, JSON.stringify(e), e.startedAt, e.finishedAt],
  );
}

export async function getMigrationRun(db: Queryable, workflowId: string): Promise<MigrationEvidence | null> {
  const res = await db.query<{ evidence: MigrationEvidence }>(`SELECT evidence FROM plan_migration_runs WHERE workflow_id = $1`, [workflowId]);
  return res.rows[0]?.evidence ?? null;
}

/** The newest evidence of an environment's migrations (workflow ids are reused across runs). */
export async function latestMigrationRun(db: Queryable, environment: string, workflowId: string): Promise<MigrationEvidence | null> {
  return getMigrationRun(db, workflowId).then((e) => (e && e.environment === environment ? e : null));
}
