import { Command } from 'commander';
import type { TrimReport } from '../../activities/trim';
import { getEnvironment } from '../../config/environment';
import { workflowIdFor } from '../../model/ids';
import { renderTrimReport } from '../../workflows/trim-report';
import { CliContext } from '../context';
import { environmentName, positiveInt } from '../options';
import { followResult, reconnectVia } from '../follow-workflow';
import { reconnectTimeoutOption } from '../reconnect';
import { startWorkflow } from '../start-workflow';

export function trimCommand(ctx: () => CliContext): Command {
  return new Command('trim')
    .description('run capacityTrim (plandb-<env>-trim): delete the oldest non-latest versions until plan_series is within maxRows')
    .requiredOption('--env <environment>', 'environment from plandb.config.json', environmentName)
    .option('--dry-run', 'count what a trim would delete; delete nothing')
    .option('--max-rows <n>', 'plan_series rows to trim down to (default: capacity.maxRows, or PLANS_DB_MAX_ROWS)', positiveInt)
    .option('--json', 'print the report as JSON')
    .addOption(reconnectTimeoutOption())
    .action(async (opts: { env: string; dryRun?: boolean; maxRows?: number; json?: boolean; reconnectTimeout: number }) => {
      const c = ctx();
      getEnvironment(c.config, opts.env);
      const handle = await startWorkflow(await c.temporal(), {
        workflowType: 'capacityTrim',
        workflowId: workflowIdFor(opts.env, 'trim'),
        environment: opts.env,
        taskQueue: c.config.temporal.taskQueue,
        input: { environment: opts.env, ...(opts.maxRows ? { maxRows: opts.maxRows } : {}), ...(opts.dryRun ? { dryRun: true } : {}) },
        summary: `capacity trim ${opts.env} (${opts.dryRun ? 'dry run' : 'delete'})`,
      });
      const report = await followResult<TrimReport>(handle, reconnectVia(c, opts.reconnectTimeout));
      console.log(opts.json ? JSON.stringify(report, null, 2) : renderTrimReport(report));
    });
}
