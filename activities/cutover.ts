/** Activities of the online cut-over (workflows/online-cutover.ts) beyond the backfill and verify it reuses. */
import { getEnvironment } from '../config/environment';
import { deltaSize, type DeltaSize } from '../db/cutover-delta';
import type { WorkerActivityDeps } from './deps';

export function createCutoverActivities(deps: WorkerActivityDeps) {
  /** What the delta runs after backfill run `afterRunId` wrote: new artifacts after its `afterId`, and versions rewritten at or below it. */
  async function cutoverDeltaSize(input: { environment: string; afterRunId: string; afterId: number; upToId: number }): Promise<DeltaSize> {
    getEnvironment(deps.config, input.environment);
    const size = await deltaSize(deps.databases.pool(input.environment), input);
    deps.logger.info({
      event: 'cutover_delta',
      environment: input.environment,
      afterRunId: input.afterRunId,
      newArtifacts: size.newArtifacts,
      newVersions: size.newVersions,
      changedVersions: size.changedVersions,
    });
    return size;
  }

  return { cutoverDeltaSize };
}
