/** capacityTrim (SPEC §7): one trimCapacity run; a Temporal Schedule starts it (overlap SKIP). */
import { ApplicationFailure, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { TrimReport } from '../activities/trim';
import { long } from './activity-proxies';
import { checkEnvironmentName } from '../model/ids';
import { withFinalStep } from './final-step';
import { PLAN_DB_ENVIRONMENT, PLAN_DB_STEP } from './search-attributes';
import { renderTrimReport } from './trim-report';

export interface CapacityTrimInput {
  environment: string;
  /** plan_series rows to trim down to; the environment's capacity.maxRows when omitted. */
  maxRows?: number;
  dryRun?: boolean;
}

const KNOWN_FIELDS = ['environment', 'maxRows', 'dryRun'];

/** Problems with a capacityTrim input, each naming the field; empty when it is fine. */
export function checkCapacityTrimInput(input: unknown): string[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return ['the input must be a JSON object such as {"environment":"dev"}'];
  const i = input as Record<string, unknown>;
  const problems = Object.keys(i)
    .filter((key) => !KNOWN_FIELDS.includes(key))
    .map((key) => `unknown field "${key}" (known: ${KNOWN_FIELDS.join(', ')})`);
  const envProblem = checkEnvironmentName(i.environment);
  if (envProblem) problems.push(envProblem);
  if (i.maxRows !== undefined && !(typeof i.maxRows === 'number' && Number.isSafeInteger(i.maxRows) && i.maxRows > 0))
    problems.push(`"maxRows" must be a positive whole number, got ${JSON.stringify(i.maxRows)}`);
  if (i.dryRun !== undefined && typeof i.dryRun !== 'boolean') problems.push('"dryRun" must be true or false');
  return problems;
}

export async function capacityTrim(input: CapacityTrimInput): Promise<TrimReport> {
  const problems = checkCapacityTrimInput(input);
  if (problems.length) throw ApplicationFailure.nonRetryable(`invalid capacityTrim input: ${problems.join('; ')}`, 'InvalidInput');
  const { environment, maxRows, dryRun } = input;
  upsertSearchAttributes([
    { key: PLAN_DB_ENVIRONMENT, value: environment },
    { key: PLAN_DB_STEP, value: 'trim' },
  ]);
  setCurrentDetails(
    `## plandb capacity trim${dryRun ? ' (dry run)' : ''} — ${environment}\n\n${dryRun ? 'Counting what trimming would delete' : 'Deleting the oldest non-latest versions'} until plan_series is within ${maxRows ?? 'the configured maxRows'}…`,
  );
  return withFinalStep(async () => {
    const report = await long.trimCapacity({ environment, maxRows, dryRun, workflowId: workflowInfo().workflowId });
    setCurrentDetails(renderTrimReport(report));
    return report;
  });
}
