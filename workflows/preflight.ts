import { ApplicationFailure, proxyActivities, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { PlandbActivities } from '../activities';
import type { PreflightInput, PreflightReport } from '../activities/preflight';
import { describePrediction } from '../model/backfill-eta';
import { checkEnvironmentName } from '../model/ids';
import { withFinalStep } from './final-step';
import { PLAN_DB_ENVIRONMENT, PLAN_DB_STEP } from './search-attributes';

const { preflight: runPreflight } = proxyActivities<PlandbActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** Read-only check of one environment: connectivity, migrations, legacy inventory, maintenance. */
export async function preflight(input: PreflightInput): Promise<PreflightReport> {
  const problem = checkEnvironmentName(input?.environment);
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidInput');
  upsertSearchAttributes([
    { key: PLAN_DB_ENVIRONMENT, value: input.environment },
    { key: PLAN_DB_STEP, value: 'preflight' },
  ]);
  setCurrentDetails(`## plandb preflight — ${input.environment}\n\nChecking connectivity, migrations and the legacy inventory…`);
  return withFinalStep(async () => {
    const report = await runPreflight({ environment: input.environment });
    setCurrentDetails(renderPreflightDetails(report));
    return report;
  });
}

function renderPreflightDetails(r: PreflightReport): string {
  const legacy = r.legacy
    ? `${r.legacy.artifacts} artifacts, ${r.legacy.plans} plans, ${r.legacy.validVersions} valid versions, ${r.legacy.rejected} rejected; ${r.legacy.series} series rows, ${r.legacy.kpis} KPIs, ${r.legacy.events} events`
    : 'no plan_artifacts table';
  return [
    `## plandb preflight — ${r.environment}`,
    '',
    `- PostgreSQL ${r.server.version}, database \`${r.server.database}\``,
    `- migrations: ${r.migrations.atHead ? 'at head' : `${r.migrations.pending.length} pending, ${r.migrations.drift.length} drift`} (head ${r.migrations.head ?? '—'})`,
    `- legacy: ${legacy}`,
    `- maintenance: ${r.maintenance ? (r.maintenance.enabled ? 'ON' : 'off') : 'table not created yet'}`,
    ...(r.eta ? [`- backfill: ${describePrediction(r.eta)}`] : []),
  ].join('\n');
}
