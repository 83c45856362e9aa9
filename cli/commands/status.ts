import { Command } from 'commander';
import { CliContext } from '../context';
import { renderStatus, workflowSummary } from '../render-status';
import { queryProgress } from '../watch-backfill';
import { BACKFILL_WORKFLOW_TYPE, describeWorkflow } from '../workflow-handle';

export function statusCommand(ctx: () => CliContext): Command {
  return new Command('status')
    .description("a workflow's type, status, times and search attributes; for a backfill also its progress (running or closed)")
    .argument('<workflow-id>', 'e.g. plandb-dev-backfill')
    .option('--json', 'print JSON: {workflow, progress}')
    .action(async (workflowId: string, opts: { json?: boolean }) => {
      const { handle, description } = await describeWorkflow(await ctx().temporal(), workflowId);
      const workflow = workflowSummary(description);
      // Queries work on closed workflows too: Temporal replays the history to answer them.
      const progress = description.type === BACKFILL_WORKFLOW_TYPE ? await queryProgress(handle) : undefined;
      console.log(opts.json ? JSON.stringify({ workflow, progress: progress ?? null }, null, 2) : renderStatus(workflow, progress));
    });
}
