import { Command, Option } from 'commander';
import { getEnvironment } from '../../config/environment';
import { workflowIdFor } from '../../model/ids';
import { CliContext } from '../context';
import { environmentName, positiveInt } from '../options';
import { followResult, reconnectVia } from '../follow-workflow';
import { reconnectTimeoutOption } from '../reconnect';
import { startWorkflow } from '../start-workflow';

async function run(
  ctx: () => CliContext,
  env: string,
  type: 'rollback' | 'rollbackDrill',
  input: Record<string, unknown>,
  reconnectTimeout: number,
): Promise<void> {
  const c = ctx();
  getEnvironment(c.config, env);
  const handle = await startWorkflow(await c.temporal(), {
    workflowType: type,
    workflowId: workflowIdFor(env, type === 'rollback' ? 'rollback' : 'drill'),
    environment: env,
    taskQueue: c.config.temporal.taskQueue,
    input: { environment: env, ...input },
    summary: type === 'rollback' ? `rollback ${env} (${String(input.mode)})` : `rollback drill ${env}`,
  });
  console.log(JSON.stringify(await followResult(handle, reconnectVia(c, reconnectTimeout)), null, 2));
}

export function rollbackCommand(ctx: () => CliContext): Command {
  return new Command('rollback')
    .description('roll the repository back (rollback workflow): maintenance on, restore the backup or clear the tables, maintenance off')
    .requiredOption('--env <environment>', 'environment from plandb.config.json', environmentName)
    .addOption(new Option('--mode <mode>', 'what to do').choices(['restore-backup', 'clear-repository']).makeOptionMandatory())
    .option('--backup-id <id>', 'backup to restore (default: the latest verified one)', positiveInt)
    .addOption(reconnectTimeoutOption())
    .action((opts: { env: string; mode: string; backupId?: number; reconnectTimeout: number }) =>
      run(ctx, opts.env, 'rollback', { mode: opts.mode, ...(opts.backupId ? { backupId: opts.backupId } : {}) }, opts.reconnectTimeout),
    );
}

export function drillCommand(ctx: () => CliContext): Command {
  return new Command('drill')
    .description('rollback drill (rollbackDrill): restore the latest backup into a scratch database, verify it, drop it')
    .requiredOption('--env <environment>', 'environment from plandb.config.json', environmentName)
    .addOption(reconnectTimeoutOption())
    .action((opts: { env: string; reconnectTimeout: number }) => run(ctx, opts.env, 'rollbackDrill', {}, opts.reconnectTimeout));
}
