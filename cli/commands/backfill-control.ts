import { WorkflowUpdateFailedError } from '@temporalio/client';
import { Command } from 'commander';
import { pauseSignal, resumeSignal, setBatchSizeUpdate } from '../../workflows/definitions';
import { CliContext } from '../context';
import { CliFailure } from '../errors';
import { nonNegativeInt } from '../options';
import { runningBackfill } from '../workflow-handle';

const byOption = ['--by <name>', 'who asks (recorded with the signal; default: $USER)', process.env.USER] as const;

export function pauseCommand(ctx: () => CliContext): Command {
  return new Command('pause')
    .description('pause a running backfill after the batch in flight (signal pause)')
    .argument('<workflow-id>', 'e.g. plandb-dev-backfill')
    .option(...byOption)
    .option('--reason <text>', 'why (recorded with the signal)')
    .action(async (workflowId: string, opts: { by?: string; reason?: string }) => {
      const handle = await runningBackfill(await ctx().temporal(), workflowId);
      await handle.signal(pauseSignal, { by: opts.by, reason: opts.reason });
      console.log(`${workflowId}: pause sent; it stops after the batch in flight (\`plandb status ${workflowId}\` shows paused)`);
    });
}

export function resumeCommand(ctx: () => CliContext): Command {
  return new Command('resume')
    .description('resume a paused backfill (signal resume)')
    .argument('<workflow-id>', 'e.g. plandb-dev-backfill')
    .option(...byOption)
    .action(async (workflowId: string, opts: { by?: string }) => {
      const handle = await runningBackfill(await ctx().temporal(), workflowId);
      await handle.signal(resumeSignal, { by: opts.by });
      console.log(`${workflowId}: resume sent`);
    });
}

export function setBatchSizeCommand(ctx: () => CliContext): Command {
  return new Command('set-batch-size')
    .description('change the batch size of a running backfill from its next chunk (update setBatchSize, validated by the workflow)')
    .argument('<workflow-id>', 'e.g. plandb-dev-backfill')
    .argument('<n>', 'artifacts per batch', nonNegativeInt)
    .action(async (workflowId: string, n: number) => {
      const handle = await runningBackfill(await ctx().temporal(), workflowId);
      let previous: number;
      try {
        previous = await handle.executeUpdate(setBatchSizeUpdate, { args: [{ batchSize: n }] });
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError)
          throw new CliFailure(`${workflowId} refused batch size ${n}: ${err.cause?.message ?? err.message}`);
        throw err;
      }
      console.log(`${workflowId}: batch size ${previous} -> ${n}`);
    });
}
