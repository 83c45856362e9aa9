import type { ActivityDeps } from './deps';
import { permanentErrorsFailFast } from './failures';
import { createPreflight } from './preflight';

export type { ActivityDeps } from './deps';

/** Every activity the worker registers, built over its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    preflight: permanentErrorsFailFast(createPreflight(deps)),
  };
}

export type PlandbActivities = ReturnType<typeof createActivities>;
