import { ScheduleHandle, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { Command } from 'commander';
import { getEnvironment } from '../../config/environment';
import { CliContext } from '../context';
import { CliFailure } from '../errors';
import { cronExpression, environmentName, positiveInt, scheduleId, sinceOption } from '../options';
import { listPlandbSchedules, ScheduleKind, scheduleOptions, specText, upsertSchedule } from '../schedules';

async function upsert(ctx: () => CliContext, kind: ScheduleKind, env: string, cron: string, input: Record<string, unknown>): Promise<void> {
  const c = ctx();
  getEnvironment(c.config, env);
  const client = await c.temporal();
  const options = scheduleOptions({
    kind,
    environment: env,
    cron,
    taskQueue: c.config.temporal.taskQueue,
    input: { environment: env, ...input },
  });
  const outcome = await upsertSchedule(client, options);
  const d = await client.schedule.getHandle(options.scheduleId).describe();
  console.log(
    `${outcome} schedule ${options.scheduleId}: ${d.action.workflowType} ${JSON.stringify(d.action.args?.[0])} at ${specText(d.spec)}, overlap ${d.policies.overlap}` +
      `${d.state.paused ? ', PAUSED' : ''}; next run ${d.info.nextActionTimes[0]?.toISOString() ?? '-'}`,
  );
}

/** Runs `fn` on an existing schedule; an unknown id is a CliFailure naming it. */
async function onSchedule(ctx: () => CliContext, id: string, fn: (handle: ScheduleHandle) => Promise<void>): Promise<void> {
  const handle = (await ctx().temporal()).schedule.getHandle(id);
  try {
    await fn(handle);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new CliFailure(`no schedule ${id} (see \`plandb schedule list\`)`);
    throw err;
  }
}

export function scheduleCommand(ctx: () => CliContext): Command {
  const schedule = new Command('schedule').description(
    'Temporal Schedules for capacity trims, rollback drills and legacy-usage reports (cron in UTC, overlap policy SKIP)',
  );
  schedule
    .command('trim')
    .description('create or update plandb-<env>-trim-schedule: runs capacityTrim on the cron')
    .requiredOption('--env <environment>', 'environment from plandb.config.json', environmentName)
    .requiredOption('--cron <expr>', 'when: 5-field cron in UTC, e.g. "0 3 * * *" (03:00 daily)', cronExpression)
    .option('--max-rows <n>', 'plan_series rows to trim down to (default: capacity.maxRows at run time)', positiveInt)
    .option('--dry-run', 'scheduled runs only count what they would delete')
    .action((opts: { env: string; cron: string; maxRows?: number; dryRun?: boolean }) =>
      upsert(ctx, 'trim', opts.env, opts.cron, {
        ...(opts.maxRows ? { maxRows: opts.maxRows } : {}),
        ...(opts.dryRun ? { dryRun: true } : {}),
      }),
    );
  schedule
    .command('drill')
    .description('create or update plandb-<env>-drill-schedule: runs rollbackDrill on the cron (the checklist: quarterly)')
    .requiredOption('--env <environment>', 'environment from plandb.config.json', environmentName)
    .requiredOption('--cron <expr>', 'when: 5-field cron in UTC, e.g. "0 4 1 1,4,7,10 *" (quarterly)', cronExpression)
    .action((opts: { env: string; cron: string }) => upsert(ctx, 'drill', opts.env, opts.cron, {}));
  schedule
    .command('legacy-usage')
    .description('create or update plandb-<env>-legacy-usage-schedule: runs legacyUsage (a legacy-usage report, stored) on the cron')
    .requiredOption('--env <environment>', 'environment from plandb.config.json', environmentName)
    .requiredOption('--cron <expr>', 'when: 5-field cron in UTC, e.g. "0 * * * *" (hourly: dates last use to the hour)', cronExpression)
    .option('--since <point>', 'an ISO time, a reset id, or "cutover" (default: the latest reset or cut-over)', sinceOption)
    .action((opts: { env: string; cron: string; since?: string }) =>
      upsert(ctx, 'legacy-usage', opts.env, opts.cron, opts.since ? { since: opts.since } : {}),
    );
  schedule
    .command('list')
    .description("plandb's schedules: id, workflow, cron, next run, paused")
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const rows = await listPlandbSchedules(await ctx().temporal());
      if (opts.json) console.log(JSON.stringify(rows, null, 2));
      else if (!rows.length) console.log('no plandb schedules');
      else
        for (const r of rows)
          console.log(`${r.scheduleId}  ${r.workflowType ?? '?'}  ${r.spec}  next ${r.nextRun ?? '-'}${r.paused ? '  PAUSED' : ''}`);
    });
  schedule
    .command('trigger')
    .description('start the scheduled workflow now (skipped if the previous one still runs)')
    .argument('<id>', 'schedule id, e.g. plandb-dev-trim-schedule', scheduleId)
    .action((id: string) =>
      onSchedule(ctx, id, async (handle) => {
        await handle.trigger(ScheduleOverlapPolicy.SKIP);
        console.log(`triggered ${id}`);
      }),
    );
  schedule
    .command('delete')
    .description('delete a plandb schedule (running workflows it started go on)')
    .argument('<id>', 'schedule id, e.g. plandb-dev-trim-schedule', scheduleId)
    .action((id: string) =>
      onSchedule(ctx, id, async (handle) => {
        await handle.delete();
        console.log(`deleted ${id}`);
      }),
    );
  return schedule;
}
