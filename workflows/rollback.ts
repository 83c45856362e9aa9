/**
 * rollback and rollbackDrill. The rollback procedure is shared with environmentMigration's
 * `decide rollback`: restore the repository tables from a backup, or clear them, then lift maintenance.
 */
import { ApplicationFailure, CancellationScope, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { checkText, MAX_NAME } from '../model/text';
import { long, quick } from './activity-proxies';
import { checkEnvironmentName } from '../model/ids';
import { withFinalStep } from './final-step';
import { PLAN_DB_ENVIRONMENT, PLAN_DB_STEP } from './search-attributes';

export type RollbackMode = 'restore-backup' | 'clear-repository';

export interface RollbackInput {
  environment: string;
  mode: RollbackMode;
  /** The backup to restore (restore-backup); the latest verified one when omitted. */
  backupId?: number;
  actor?: string;
  /** The workflow recorded as maintenance's owner (default: this one). */
  owner?: string;
}

export interface RollbackResult {
  environment: string;
  mode: RollbackMode;
  restored: unknown;
  maintenance: unknown;
  at: string;
}

/**
 * Maintenance stays on while the repository is replaced, and is always lifted afterwards — after a
 * failure or a cancellation too (non-cancellable), so a stopped rollback never leaves it on.
 */
export async function rollbackProcedure(input: RollbackInput): Promise<RollbackResult> {
  const actor = input.actor ?? 'plandb';
  const owner = input.owner ?? workflowInfo().workflowId;
  const reason = `plandb rollback (${input.mode}) by ${workflowInfo().workflowId}`;
  const maintenance = (enabled: boolean, why: string) =>
    quick.setMaintenance({ environment: input.environment, enabled, reason: why, actor, owner });
  let restored: unknown;
  let lifted: unknown;
  let ok = false;
  try {
    await maintenance(true, reason);
    restored =
      input.mode === 'restore-backup'
        ? await long.restoreBackup({ environment: input.environment, backupId: input.backupId, mode: 'repository' })
        : await quick.clearRepository({ environment: input.environment });
    ok = true;
  } finally {
    lifted = await CancellationScope.nonCancellable(() => maintenance(false, ok ? reason : `${reason} (stopped)`));
  }
  return { environment: input.environment, mode: input.mode, restored, maintenance: lifted, at: new Date().toISOString() };
}

function checkRollbackInput(input: RollbackInput): string | null {
  const problem = checkEnvironmentName(input?.environment);
  if (problem) return problem;
  if (input.mode !== 'restore-backup' && input.mode !== 'clear-repository') return '"mode" must be restore-backup or clear-repository';
  if (input.backupId !== undefined && !(Number.isSafeInteger(input.backupId) && input.backupId > 0))
    return '"backupId" must be a backup id';
  return (
    checkText('actor', input.actor, { max: MAX_NAME, singleLine: true }) ??
    checkText('owner', input.owner, { max: MAX_NAME, singleLine: true })
  );
}

export async function rollback(input: RollbackInput): Promise<RollbackResult> {
  const problem = checkRollbackInput(input);
  if (problem) throw ApplicationFailure.nonRetryable(`invalid rollback input: ${problem}`, 'InvalidInput');
  upsertSearchAttributes([
    { key: PLAN_DB_ENVIRONMENT, value: input.environment },
    { key: PLAN_DB_STEP, value: 'rollback' },
  ]);
  setCurrentDetails(
    `## plandb rollback — ${input.environment}\n\n${input.mode}: maintenance on, ${input.mode === 'restore-backup' ? 'restoring the repository tables from the backup' : 'clearing the repository tables'}, maintenance off.`,
  );
  return withFinalStep(() => rollbackProcedure(input));
}

export interface DrillResult {
  environment: string;
  backup: unknown;
  database: string;
  verification: unknown;
  passed: boolean;
}

/** Restores the latest backup into a scratch database, verifies it, and drops it (scheduled quarterly). */
export async function rollbackDrill(input: { environment: string }): Promise<DrillResult> {
  const problem = checkEnvironmentName(input?.environment);
  if (problem) throw ApplicationFailure.nonRetryable(`invalid rollbackDrill input: ${problem}`, 'InvalidInput');
  const { environment } = input;
  upsertSearchAttributes([
    { key: PLAN_DB_ENVIRONMENT, value: environment },
    { key: PLAN_DB_STEP, value: 'drill' },
  ]);
  return withFinalStep(() => drill(environment));
}

async function drill(environment: string): Promise<DrillResult> {
  const backup = await quick.latestBackup({ environment });
  if (!backup)
    throw ApplicationFailure.nonRetryable(
      `no verified backup of ${environment} to drill with: run a migration or \`plandb backup --env ${environment}\` first`,
      'NoBackup',
    );
  const restored = await long.restoreBackup({ environment, backupId: backup.backupId, mode: 'scratch' });
  try {
    const verification = await long.verify({ environment, database: restored.database });
    // The copy must be internally consistent. Versions missing from it are normal: a backup taken
    // before a backfill holds less of the repository than its legacy table would give.
    const passed = verification.mismatches === 0 && verification.extraInRepository === 0 && verification.plansInconsistent === 0;
    const result = { environment, backup, database: restored.database, verification, passed };
    setCurrentDetails(
      `## plandb rollback drill — ${environment}\n\nBackup ${backup.backupId} restored into \`${restored.database}\`: ${passed ? 'consistent' : 'INCONSISTENT'} (${verification.versionsChecked} versions checked, ${verification.mismatches} mismatches, ${verification.missingInRepository} not yet backfilled at backup time).`,
    );
    if (!passed)
      throw ApplicationFailure.nonRetryable(
        `rollback drill of ${environment}: the restored backup ${backup.backupId} does not verify`,
        'DrillFailed',
        result,
      );
    return result;
  } finally {
    await quick.dropScratchDatabase({ environment, database: restored.database });
  }
}
