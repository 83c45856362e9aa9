/** `plan_verify_reports`: verify's full report, kept so the migration's evidence can refer to it by id. */
import { Queryable } from './connection';
import { tableExists } from './server-info';

/** The new report's id; null before the migrations created the table. */
export async function saveVerifyReport(
  db: Queryable,
  r: { environment: string; workflowId: string | null; passed: boolean; report: unknown },
): Promise<number | null> {
  if (!(await tableExists(db, 'plan_verify_reports'))) return null;
  const res = await db.query<{ id: number }>(
    `INSERT INTO plan_verify_reports (environment, workflow_id, passed, report) VALUES ($1, $2, $3, $4) RETURNING id`,
    // jsonb refuses \u0000 even escaped; reports quote legacy text.
    [r.environment, r.workflowId, r.passed, JSON.stringify(r.report).replace(/\\u0000/g, '\\\\u0000')],
  );
  return res.rows[0].id;
}

export async function getVerifyReport(db: Queryable, id: number): Promise<unknown> {
  const res = await db.query<{ report: unknown }>(`SELECT report FROM plan_verify_reports WHERE id = $1`, [id]);
  return res.rows[0]?.report ?? null;
}
