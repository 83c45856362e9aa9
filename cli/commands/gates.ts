import { WorkflowUpdateFailedError } from '@temporalio/client';
import { Command, InvalidArgumentError } from 'commander';
import type { ApprovalRecord, DecisionAction } from '../../model/migration';
import { approveUpdate, decideSignal, rejectUpdate } from '../../workflows/definitions';
import { CliContext } from '../context';
import { CliFailure } from '../errors';
import { describeWorkflow } from '../workflow-handle';

async function runningHandle(ctx: () => CliContext, workflowId: string) {
  const { handle, description } = await describeWorkflow(await ctx().temporal(), workflowId);
  if (description.status.name !== 'RUNNING') throw new CliFailure(`${workflowId} is not running (${description.status.name})`);
  return handle;
}

function gateCommand(ctx: () => CliContext, name: 'approve' | 'reject'): Command {
  return new Command(name)
    .description(`${name} an open gate of a migration or promotion (validated: the approver must be allowed and the gate open)`)
    .argument('<workflow-id>', 'e.g. plandb-staging-migration or plandb-promotion')
    .requiredOption('--gate <gate>', 'the open gate, e.g. start, full-backfill, spot-check, promote-to-staging')
    .requiredOption('--by <name>', "who decides (must be in the environment's approvers)")
    .option('--comment <text>', 'recorded in the evidence')
    .action(async (workflowId: string, opts: { gate: string; by: string; comment?: string }) => {
      const handle = await runningHandle(ctx, workflowId);
      try {
        const record: ApprovalRecord = await handle.executeUpdate(name === 'approve' ? approveUpdate : rejectUpdate, {
          args: [{ gate: opts.gate, approver: opts.by, ...(opts.comment ? { comment: opts.comment } : {}) }],
        });
        console.log(`${record.gate}: ${record.decision} by ${record.approver} at ${record.at}`);
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError)
          throw new CliFailure(`refused: ${(err.cause as Error | undefined)?.message ?? err.message}`);
        throw err;
      }
    });
}

export const approveCommand = (ctx: () => CliContext) => gateCommand(ctx, 'approve');
export const rejectCommand = (ctx: () => CliContext) => gateCommand(ctx, 'reject');

export function decideCommand(ctx: () => CliContext): Command {
  return new Command('decide')
    .description('after a failed step: retry it, roll back (restore or clear the repository, maintenance off) or abort (maintenance off)')
    .argument('<workflow-id>', 'e.g. plandb-production-migration')
    .argument('<action>', 'retry | rollback | abort', (v: string) => {
      if (!['retry', 'rollback', 'abort'].includes(v)) throw new InvalidArgumentError(`expected retry, rollback or abort, got "${v}"`);
      return v as DecisionAction;
    })
    .option('--by <name>', 'who decides', process.env.USER ?? 'operator')
    .option('--comment <text>', 'recorded in the evidence')
    .action(async (workflowId: string, action: DecisionAction, opts: { by: string; comment?: string }) => {
      const handle = await runningHandle(ctx, workflowId);
      await handle.signal(decideSignal, { action, by: opts.by, ...(opts.comment ? { comment: opts.comment } : {}) });
      console.log(`sent decide ${action} to ${workflowId}`);
    });
}
