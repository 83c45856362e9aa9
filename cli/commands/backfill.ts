import { Command, Option } from 'commander';
import { getEnvironment } from '../../config/environment';
import type { BackfillConfig } from '../../config/schema';
import type { BackfillInput, BackfillProgress } from '../../workflows/definitions';
import { workflowIdFor } from '../../model/ids';
import { backfillState, writeStateFile } from '../backfill-state';
import { CliContext } from '../context';
import { printStarted, reconnectVia } from '../follow-workflow';
import { batchSize, catchUpPasses, environmentName, nonNegativeInt, positiveInt, resumeFrom, retryErrors, shardCount } from '../options';
import { barDisplay, jsonLinesDisplay } from '../progress-display';
import { reconnectTimeoutOption } from '../reconnect';
import { renderBackfillProgress } from '../render-status';
import { startWorkflow } from '../start-workflow';
import { BackfillOutcome, watchBackfill } from '../watch-backfill';
import { BACKFILL_WORKFLOW_TYPE } from '../workflow-handle';

export interface BackfillOptions {
  env: string;
  dryRun?: boolean;
  force?: boolean;
  limit?: number;
  batchSize?: number;
  maxErrors?: number;
  shards?: number;
  catchUpPasses?: number;
  resumeFrom?: string;
  retryErrors?: string;
  stateFile?: string;
  wait: boolean;
  json?: boolean;
}

/**
 * The workflow input: flags win, the environment's config gives batchSize and maxErrors. Its
 * `backfill.mode` is not applied: forcing a rewrite takes an explicit --force.
 */
export function backfillInput(opts: BackfillOptions, defaults: Pick<BackfillConfig, 'batchSize' | 'maxErrors'>): BackfillInput {
  const input: BackfillInput = { environment: opts.env };
  if (opts.dryRun) input.dryRun = true;
  if (opts.force) input.force = true;
  if (opts.limit !== undefined) input.limit = opts.limit;
  input.batchSize = opts.batchSize ?? defaults.batchSize;
  if (opts.resumeFrom !== undefined) input.resumeFrom = opts.resumeFrom;
  if (opts.retryErrors !== undefined) input.retryErrors = opts.retryErrors;
  // Absent: the worker takes the environment's backfill.shards ("auto": the database server's cores).
  if (opts.shards !== undefined) input.shards = opts.shards;
  input.maxErrors = opts.maxErrors ?? defaults.maxErrors;
  // Absent: the environment's backfill.catchUp.
  if (opts.catchUpPasses !== undefined) input.catchUp = opts.catchUpPasses === 0 ? { enabled: false } : { maxPasses: opts.catchUpPasses };
  return input;
}

export function backfillCommand(ctx: () => CliContext): Command {
  return new Command('backfill')
    .description('run the backfillRepository workflow: plan_artifacts -> PlanRepository in batches, with live progress')
    .requiredOption('--env <environment>', 'environment from plandb.config.json', environmentName)
    .addOption(new Option('--dry-run', 'write nothing; report what would be written, rejected and in conflict').conflicts('force'))
    .option('--force', 'rewrite every version (children replaced)')
    .option('--limit <n>', 'process at most N artifacts', positiveInt)
    .option('--batch-size <n>', "artifacts per batch (default: the environment's backfill.batchSize)", batchSize)
    .option('--max-errors <n>', "fail the run past this many errors (default: the environment's backfill.maxErrors)", nonNegativeInt)
    .option(
      '--shards <n>',
      "split the range into N shards processed at once, by any workers (default: the environment's backfill.shards)",
      shardCount,
    )
    .option(
      '--catch-up-passes <n>',
      "at most N catch-up passes over what the application appended during the run, 0 for none (default: the environment's backfill.catchUp)",
      catchUpPasses,
    )
    .option('--resume-from <run-id|artifact:id>', "continue from a previous run's checkpoint, or start after an artifact id", resumeFrom)
    .addOption(
      new Option(
        '--retry-errors <run-id>',
        "re-read only the artifacts of that run's unresolved errors (after they were fixed), as a new run",
      )
        .argParser(retryErrors)
        .conflicts(['dryRun', 'resumeFrom', 'limit', 'shards']),
    )
    .addOption(
      new Option('--state-file <path>', 'rewrite this JSON file (run id, status, cursor, counts, errors) on every update').conflicts(
        'wait',
      ),
    )
    .option('--no-wait', 'print {workflowId, runId} and return without waiting')
    .option('--json', 'progress as JSON lines even on a terminal')
    .addOption(reconnectTimeoutOption())
    .action(async (opts: BackfillOptions & { reconnectTimeout: number }) => {
      const c = ctx();
      const config = getEnvironment(c.config, opts.env).backfill;
      if (config.mode === 'force' && !opts.force && !opts.dryRun) {
        console.error(`plandb: note: ${opts.env}'s backfill.mode is "force" in the config; this run is normal unless you pass --force`);
      }
      const input = backfillInput(opts, config);
      const mode = input.dryRun ? 'dry-run' : input.force ? 'force' : 'normal';
      const handle = await startWorkflow(await c.temporal(), {
        workflowType: BACKFILL_WORKFLOW_TYPE,
        workflowId: workflowIdFor(opts.env, 'backfill'),
        environment: opts.env,
        taskQueue: c.config.temporal.taskQueue,
        input,
        summary: `backfill ${opts.env} (${mode}${input.retryErrors ? `, retry of the errors of run ${input.retryErrors}` : ''})`,
      });
      if (!opts.wait) {
        await printStarted(c, handle);
        return;
      }

      const onTerminal = !opts.json && process.stdout.isTTY;
      const display = onTerminal ? barDisplay(process.stdout) : jsonLinesDisplay((line) => console.log(line));
      let last: BackfillProgress | null = null;
      let connected = true;
      const report = async (progress: BackfillProgress | null, failure?: { status: string; message: string }) => {
        last = progress ?? last;
        if (progress) display.update(progress);
        if (opts.stateFile) {
          await writeStateFile(
            opts.stateFile,
            backfillState({
              workflowId: handle.workflowId,
              environment: opts.env,
              mode,
              progress: last,
              failure,
              connected,
              now: new Date(),
            }),
          );
        }
      };
      const reconnect = reconnectVia(c, opts.reconnectTimeout, async (up) => {
        connected = up;
        await report(null);
      });
      let outcome: BackfillOutcome;
      try {
        outcome = await watchBackfill(handle, (p) => report(p), reconnect);
        await report(outcome.progress, outcome.failure && { status: outcome.failure.status, message: outcome.failure.error.message });
      } finally {
        // Restores the terminal (the bar hides the cursor) whatever happened.
        display.stop();
      }
      if (outcome.failure) throw outcome.failure.error;
      if (onTerminal && outcome.progress) console.log(renderBackfillProgress(outcome.progress));
    });
}
