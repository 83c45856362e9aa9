import type { ActivityDeps } from './deps';
import { permanentErrorsFailFast } from './failures';
import { createBackfillActivities } from './backfill';
import { createPreflight } from './preflight';

export type { ActivityDeps } from './deps';

/** Every activity the worker registers, built over its dependencies. */
export function createActivities(deps: ActivityDeps) {
  const backfill = createBackfillActivities(deps);
  return {
    preflight: permanentErrorsFailFast(createPreflight(deps)),
    startBackfillRun: permanentErrorsFailFast(backfill.startBackfillRun),
    backfillChunk: permanentErrorsFailFast(backfill.backfillChunk),
    setBackfillRunStatus: permanentErrorsFailFast(backfill.setBackfillRunStatus),
    backfillErrorsSample: permanentErrorsFailFast(backfill.backfillErrorsSample),
  };
}

export type PlandbActivities = ReturnType<typeof createActivities>;
