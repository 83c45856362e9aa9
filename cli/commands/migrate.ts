import { Command } from 'commander';
import { getEnvironment } from '../../config/environment';
import type { CutoverMode, MigrationOverrides } from '../../model/migration';
import { workflowIdFor } from '../../model/ids';
import { CliContext } from '../context';
import { batchSize, cutoverMode, environmentName, nonNegativeHours, positiveInt } from '../options';
import { printStarted, reconnectVia } from '../follow-workflow';
import { reconnectTimeoutOption } from '../reconnect';
import { startWorkflow } from '../start-workflow';
import { watchMigration } from '../watch-migration';
import { renderEvidenceMarkdown } from '../../workflows/evidence-markdown';

/** Options that override the environment's policy, shared by `migrate` and `promote`. */
export function withPolicyOverrides(cmd: Command): Command {
  return cmd
    .option('--approval-timeout <duration>', 'gate timeout, e.g. 30m, 24h (default: config approval.timeout)')
    .option('--no-approval', 'skip the approval gate (the config decides otherwise)')
    .option('--skip-backup', 'do not take a backup')
    .option('--batch-size <n>', 'backfill batch size', batchSize)
    .option('--sample-limit <n>', 'dry-run this many artifacts before the full run', positiveInt)
    .option('--post-check-hours <h>', 'hours to watch write errors afterwards (fractions allowed, e.g. 0.01)', nonNegativeHours)
    .option('--post-check-interval <duration>', 'how often the post-check looks, e.g. 1h')
    .option(
      '--cutover <mode>',
      'online: maintenance only for the final delta; offline: for the whole backfill (default: config cutover)',
      cutoverMode,
    );
}

export function overridesFrom(opts: Record<string, unknown>): MigrationOverrides {
  const o: MigrationOverrides = {};
  if (opts.approvalTimeout !== undefined) o.approvalTimeout = String(opts.approvalTimeout);
  if (opts.approval === false) o.approvalRequired = false;
  if (opts.skipBackup) o.skipBackup = true;
  if (opts.batchSize !== undefined) o.batchSize = Number(opts.batchSize);
  if (opts.sampleLimit !== undefined) o.sampleLimit = Number(opts.sampleLimit);
  if (opts.postCheckHours !== undefined) o.postCheckHours = Number(opts.postCheckHours);
  if (opts.postCheckInterval !== undefined) o.postCheckInterval = String(opts.postCheckInterval);
  if (opts.cutover !== undefined) o.cutover = opts.cutover as CutoverMode;
  return o;
}

export function migrateCommand(ctx: () => CliContext): Command {
  return withPolicyOverrides(
    new Command('migrate')
      .description("run one environment's migration (environmentMigration): the checklist's steps with gates, evidence and rollback")
      .requiredOption('--env <environment>', 'environment from plandb.config.json', environmentName)
      .option('--no-wait', 'print the workflow id and return')
      .addOption(reconnectTimeoutOption()),
  ).action(async (opts: Record<string, unknown> & { env: string; wait: boolean; reconnectTimeout: number }) => {
    const c = ctx();
    getEnvironment(c.config, opts.env);
    const handle = await startWorkflow(await c.temporal(), {
      workflowType: 'environmentMigration',
      workflowId: workflowIdFor(opts.env, 'migration'),
      environment: opts.env,
      taskQueue: c.config.temporal.taskQueue,
      input: { environment: opts.env, ...overridesFrom(opts) },
      summary: `migration ${opts.env}`,
    });
    if (!opts.wait) {
      await printStarted(c, handle);
      return;
    }
    const closed = await watchMigration(handle, (line) => console.error(line), reconnectVia(c, opts.reconnectTimeout));
    if ('failure' in closed) throw closed.failure;
    console.log(renderEvidenceMarkdown(closed.result));
  });
}
