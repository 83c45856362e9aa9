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

/** `<n|auto>`: a size to pin (the workflow judges its range), or `auto` to hand it back to the tuner. */
function sizeOrAuto(value: string): number | 'auto' {
  return value === 'auto' ? 'auto' : nonNegativeInt(value);
}

export function setBatchSizeCommand(ctx: () => CliContext): Command {
  return new Command('set-batch-size')
    .description(
      'pin the batch size of a running backfill from its next chunk, or `auto` to release it to the tuner (update setBatchSize, validated by the workflow)',
    )
    .argument('<workflow-id>', 'e.g. plandb-dev-backfill')
    .argument('<n|auto>', 'artifacts per batch, or auto', sizeOrAuto)
    .action(async (workflowId: string, n: number | 'auto') => {
      const handle = await runningBackfill(await ctx().temporal(), workflowId);
      let previous: number;
      try {
        previous = await handle.executeUpdate(setBatchSizeUpdate, { args: [{ batchSize: n }] });
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError)
          throw new CliFailure(`${workflowId} refused batch size ${n}: ${err.cause?.message ?? err.message}`);
        throw err;
      }
      console.log(`${workflowId}: batch size ${previous} -> ${n === 'auto' ? 'auto (tuning)' : n}`);
    });
}
