/**
 * promotion: Dev → Staging → Production as environmentMigration children, in order, with a `promote`
 * gate before each stage after the first. Stops at the first failure.
 */
import {
  ApplicationFailure,
  condition,
  executeChild,
  ParentClosePolicy,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { ApprovalRecord, GateDecision, MigrationEvidence } from '../model/migration';
import { quick } from './activity-proxies';
import {
  approveSignal,
  approveUpdate,
  checkGateDecision,
  promotionStatusQuery,
  PromotionInput,
  PromotionStatus,
  rejectSignal,
  rejectUpdate,
} from './definitions';
import type { environmentMigration } from './environment-migration';
import { checkEnvironmentName, workflowIdFor } from '../model/ids';
import { PLAN_DB_STEP } from './search-attributes';

export async function promotion(input: PromotionInput): Promise<PromotionStatus> {
  const envs = input?.environments;
  if (!Array.isArray(envs) || !envs.length)
    throw ApplicationFailure.nonRetryable(
      'invalid promotion input: "environments" must list environments, e.g. ["dev","staging","production"]',
      'InvalidInput',
    );
  for (const e of envs) {
    const problem = checkEnvironmentName(e);
    if (problem) throw ApplicationFailure.nonRetryable(`invalid promotion input: ${problem}`, 'InvalidInput');
  }
  const status: PromotionStatus = {
    stages: envs.map((environment) => ({ environment, workflowId: workflowIdFor(environment, 'migration'), status: 'pending' })),
    openGate: null,
    approvals: [],
  };
  let approvers: string[] = [];
  let outcome: ApprovalRecord | null = null;
  const decide = (d: GateDecision, decision: 'approved' | 'rejected'): ApprovalRecord => {
    const refusal = checkGateDecision(d, status.openGate, approvers);
    const record: ApprovalRecord = {
      gate: d?.gate,
      approver: d?.approver,
      comment: d?.comment,
      decision: refusal ? 'refused' : decision,
      at: new Date().toISOString(),
    };
    if (refusal) record.note = refusal;
    status.approvals.push(record);
    if (!refusal) outcome = record;
    return record;
  };
  const validate = (d: GateDecision) => {
    const refusal = checkGateDecision(d, status.openGate, approvers);
    if (refusal) throw new Error(refusal);
  };
  setHandler(approveSignal, (d) => void decide(d, 'approved'));
  setHandler(rejectSignal, (d) => void decide(d, 'rejected'));
  setHandler(approveUpdate, (d) => decide(d, 'approved'), { validator: validate });
  setHandler(rejectUpdate, (d) => decide(d, 'rejected'), { validator: validate });
  setHandler(promotionStatusQuery, () => status);

  const show = (step: string) => {
    upsertSearchAttributes([{ key: PLAN_DB_STEP, value: step }]);
    setCurrentDetails(
      [
        '## plandb promotion',
        '',
        ...status.stages.map((s) => `- ${s.environment}: ${s.status}`),
        status.openGate ? `\n**Waiting at gate \`${status.openGate}\`**` : '',
      ].join('\n'),
    );
  };

  for (const [i, stage] of status.stages.entries()) {
    if (i > 0) {
      const policy = await quick.resolveMigrationPolicy({ environment: stage.environment, overrides: input.overrides ?? {} });
      approvers = policy.approval.approvers;
      const gate = `promote-to-${stage.environment}`;
      status.openGate = gate;
      outcome = null;
      show(`gate:${gate}`);
      const decided = await condition(() => outcome !== null, policy.approval.timeoutMs);
      status.openGate = null;
      const got = outcome as ApprovalRecord | null;
      if (!decided || !got || got.decision !== 'approved') {
        stage.status = decided ? 'rejected' : 'timed-out';
        show('stopped');
        throw ApplicationFailure.nonRetryable(
          `promotion stopped before ${stage.environment}: gate ${gate} ${decided && got ? `rejected by ${got.approver}` : 'timed out'}`,
          'PromotionStopped',
          status,
        );
      }
    }
    stage.status = 'running';
    show(`migrating:${stage.environment}`);
    try {
      const evidence: MigrationEvidence = await executeChild<typeof environmentMigration>('environmentMigration', {
        workflowId: stage.workflowId,
        args: [{ environment: stage.environment, ...(input.overrides ?? {}) }],
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      });
      stage.status = evidence.status;
    } catch (err) {
      stage.status = 'failed';
      show('failed');
      throw ApplicationFailure.nonRetryable(
        `promotion stopped: the ${stage.environment} migration did not complete (${(err as Error).message})`,
        'PromotionStopped',
        status,
      );
    }
  }
  show('done');
  return status;
}
