import { Command } from 'commander';
import type { PreflightReport } from '../../activities/preflight';
import { getEnvironment } from '../../config/environment';
import { describePrediction } from '../../model/backfill-eta';
import { workflowIdFor } from '../../model/ids';
import { CliContext } from '../context';
import { environmentName } from '../options';
import { followResult, printStarted, reconnectVia } from '../follow-workflow';
import { reconnectTimeoutOption } from '../reconnect';
import { startWorkflow } from '../start-workflow';

export function renderPreflight(r: PreflightReport): string {
  const lines = [
    `preflight ${r.environment}: PostgreSQL ${r.server.version}, database ${r.server.database}`,
    `  migrations: ${r.migrations.atHead ? 'at head' : 'NOT at head'} (head ${r.migrations.head ?? '-'}, current ${r.migrations.current ?? '-'}, pending ${r.migrations.pending.length})`,
    ...r.migrations.drift.map((d) => `  DRIFT: ${d}`),
  ];
  if (r.legacy) {
    const l = r.legacy;
    lines.push(
      `  legacy: ${l.artifacts} artifacts, ${l.plans} plans, ${l.validVersions} versions to write, ${l.rejected} rejected`,
      `          ${l.series} series rows, ${l.kpis} KPIs, ${l.events} events`,
      ...Object.entries(l.rejectsByReason).map(([reason, n]) => `          rejected ${reason}: ${n}`),
    );
  } else {
    lines.push('  legacy: no plan_artifacts table');
  }
  if (r.repository)
    lines.push(
      `  repository: ${Object.entries(r.repository)
        .map(([t, n]) => `${t}=${n}`)
        .join(' ')}`,
    );
  lines.push(
    `  maintenance: ${r.maintenance ? (r.maintenance.enabled ? `ON (${r.maintenance.reason ?? ''} by ${r.maintenance.actor ?? '?'})` : 'off') : 'n/a (migrations not applied)'}`,
  );
  if (r.eta) lines.push(`  backfill: ${describePrediction(r.eta)}`);
  return lines.join('\n');
}

export function preflightCommand(ctx: () => CliContext): Command {
  return new Command('preflight')
    .description('run the preflight workflow: connectivity, migration status, legacy inventory (dry-run counts), maintenance')
    .requiredOption('--env <environment>', 'environment from plandb.config.json', environmentName)
    .option('--no-wait', 'print the workflow id and return without waiting')
    .option('--json', 'print the report as JSON')
    .addOption(reconnectTimeoutOption())
    .action(async (opts: { env: string; wait: boolean; json?: boolean; reconnectTimeout: number }) => {
      const c = ctx();
      getEnvironment(c.config, opts.env);
      const handle = await startWorkflow(await c.temporal(), {
        workflowType: 'preflight',
        workflowId: workflowIdFor(opts.env, 'preflight'),
        environment: opts.env,
        taskQueue: c.config.temporal.taskQueue,
        input: { environment: opts.env },
        summary: `preflight ${opts.env}`,
      });
      if (!opts.wait) {
        await printStarted(c, handle);
        return;
      }
      const report = await followResult<PreflightReport>(handle, reconnectVia(c, opts.reconnectTimeout));
      console.log(opts.json ? JSON.stringify(report, null, 2) : renderPreflight(report));
    });
}
