/** The backfill's catch-up passes as an activity (db/catch-up.ts): called by the workflow each time a run's shards are all done. */
import { getEnvironment } from '../config/environment';
import { getRun } from '../db/backfill-runs';
import { beginCatchUpPass as begin, type CatchUpStep } from '../db/catch-up';
import type { CatchUpPolicy } from '../model/catch-up';
import { forWorkflow } from './backfill';
import type { ActivityDeps } from './deps';

export interface CatchUpInput {
  environment: string;
  runId: string;
  /** The pass to start: one more than the workflow has started. */
  pass: number;
  /** The workflow input's override of the environment's backfill.catchUp. */
  catchUp?: Partial<CatchUpPolicy>;
}

export function createCatchUpActivities(deps: ActivityDeps) {
  async function beginCatchUpPass(input: CatchUpInput): Promise<CatchUpStep> {
    const { environment, runId } = input;
    const policy = { ...getEnvironment(deps.config, environment).backfill.catchUp, ...input.catchUp };
    const pool = deps.databases.pool(environment);
    const run = await getRun(pool, runId);
    // A pass is split like the run's first range was (options.shards; runs from before shards: one).
    const shardsPerPass = typeof run?.options.shards === 'number' ? run.options.shards : 1;
    const found = await begin(pool, { runId, pass: input.pass, policy, shardsPerPass });
    const step = { ...found, run: forWorkflow(found.run) };
    if (!step.changed) return step;
    if (step.started) {
      deps.metrics.backfillCatchUpPassesTotal.inc({ environment });
      deps.logger.info({ event: 'backfill_catch_up_pass', environment, runId, ...step.started });
      if (step.started.unsettledWriters)
        deps.logger.warn({ event: 'backfill_writers_unsettled', environment, runId, unsettled: step.started.unsettledWriters });
    } else if (step.ended) {
      deps.logger.info({ event: 'backfill_catch_up_ended', environment, runId, reason: step.ended.reason, message: step.ended.message });
    }
    return step;
  }
  return { beginCatchUpPass };
}
