/**
 * PlanDbStep at the end of a one-shot workflow (preflight, capacityTrim, rollback): its final state,
 * `completed`, `failed` or `cancelled`, the same values migrations and backfills end with.
 */
import { isCancellation, upsertSearchAttributes } from '@temporalio/workflow';
import { transition, type MigrationState } from '../model/migration-state';
import { PLAN_DB_STEP } from './search-attributes';

/** Runs the workflow's body, then sets PlanDbStep to how it ended, whether it returned or threw. */
export async function withFinalStep<T>(run: () => Promise<T>): Promise<T> {
  let status: MigrationState = 'running';
  try {
    const result = await run();
    status = transition(status, 'finished');
    return result;
  } catch (err) {
    status = transition(status, isCancellation(err) ? 'cancel' : 'fail');
    throw err;
  } finally {
    upsertSearchAttributes([{ key: PLAN_DB_STEP, value: status }]);
  }
}
