/** legacyUsage: one legacy-usage report of an environment (a Temporal Schedule runs it: `plandb schedule legacy-usage`). */
import { ApplicationFailure, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { LegacyUsageSummary } from '../model/legacy-usage';
import { quick } from './activity-proxies';
import { checkLegacyUsageInput, type LegacyUsageWorkflowInput } from './definitions';
import { withFinalStep } from './final-step';
import { PLAN_DB_ENVIRONMENT, PLAN_DB_STEP } from './search-attributes';

export async function legacyUsage(input: LegacyUsageWorkflowInput): Promise<LegacyUsageSummary> {
  const problems = checkLegacyUsageInput(input);
  if (problems.length) throw ApplicationFailure.nonRetryable(`invalid legacyUsage input: ${problems.join('; ')}`, 'InvalidInput');
  const { environment, since } = input;
  upsertSearchAttributes([
    { key: PLAN_DB_ENVIRONMENT, value: environment },
    { key: PLAN_DB_STEP, value: 'legacy-usage' },
  ]);
  return withFinalStep(async () => {
    const s = await quick.legacyUsageReport({ environment, workflowId: workflowInfo().workflowId, ...(since ? { since } : {}) });
    setCurrentDetails(
      `## plandb legacy usage — ${environment}\n\nSince ${s.since.kind} ${s.since.id ?? ''} (${s.since.at ?? 'statistics start'}): ` +
        `${s.writes} writes, ${s.reads} reads of plan_artifacts; ${s.applicationStatements} application statements (${s.applicationCalls} calls, ${s.applicationWrites} writing). ` +
        `Report ${s.snapshotId}: \`plandb legacy-usage --env ${environment} --since ${s.snapshotId}\` counts from it.`,
    );
    return s;
  });
}
