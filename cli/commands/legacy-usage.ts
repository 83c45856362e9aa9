/**
 * `plandb legacy-usage --env E [--since …] [--reset] [--json]`: who still reads or writes plan_artifacts,
 * through the same code as the legacyUsageReport activity (no worker needed). Each run stores its reading
 * and report; `--reset` then records a new reset point that later reports count from.
 */
import { Command, InvalidArgumentError } from 'commander';
import { createLegacyUsage } from '../../activities/legacy-usage';
import { getEnvironment } from '../../config/environment';
import { logger } from '../../logging/logger';
import { createMetrics } from '../../metrics/registry';
import type { LegacyUsageReport, StatementUsage } from '../../model/legacy-usage';
import { checkText, MAX_NAME } from '../../model/text';
import { CliContext } from '../context';
import { environmentName, osUser, sinceOption } from '../options';

function actorName(value: string): string {
  const problem = checkText('by', value, { max: MAX_NAME, required: true, singleLine: true });
  if (problem) throw new InvalidArgumentError(problem);
  return value;
}

function describeSince(r: LegacyUsageReport): string {
  if (r.since.kind === 'statistics')
    return `since the statistics began (${r.since.at ?? 'server start'}; no reset point yet: --reset records one)`;
  return `since ${r.since.kind === 'cutover' ? 'cut-over' : r.since.kind} ${r.since.id} (${r.since.at})`;
}

function statementLines(list: StatementUsage[]): string[] {
  return list.map(
    (s) =>
      `    ${s.kind.padEnd(5)} calls ${s.calls}, rows ${s.rows}, role ${s.role ?? '?'}, last seen after ${s.lastSeen.after ?? 'counting began'} and by ${s.lastSeen.notAfter}\n` +
      `          ${s.query.replace(/\s+/g, ' ')}`,
  );
}

export function renderLegacyUsage(r: LegacyUsageReport): string {
  const t = r.table;
  const c = t.counters;
  const lines = [`${r.environment}: plan_artifacts usage ${describeSince(r)}; measured ${r.measuredAt} (report ${r.snapshotId})`];
  if (!t.present) lines.push('  table: there is no plan_artifacts table');
  else {
    lines.push(
      `  table (pg_stat_user_tables): ${t.reads} reads (${c.seqScan} sequential scans, ${c.idxScan} index scans; ${t.tuplesRead} rows read), ` +
        `${t.writes} writes (${c.nTupIns} inserted, ${c.nTupUpd} updated, ${c.nTupDel} deleted)`,
      "  (reads include plandb's own backfill and verify; plandb never writes plan_artifacts)",
    );
    if (t.restarted) lines.push(`  ! the counters started over: ${t.restarted}; the numbers are since then (at least this much)`);
  }
  const s = r.statements;
  if (!s.available) {
    lines.push(`  statements: not available: ${s.unavailableReason}`);
    return lines.join('\n');
  }
  if (s.restarted) lines.push(`  ! ${s.restarted}; calls are counted since then`);
  lines.push(
    s.application.length
      ? `  statements by the application (pg_stat_statements, roles other than plandb's ${s.plandbRole}):`
      : `  statements by the application: none since then (roles other than plandb's ${s.plandbRole})`,
    ...statementLines(s.application),
  );
  if (s.plandb.length)
    lines.push(
      `  statements by plandb's role ${s.plandbRole} (plandb's own reads, or anything else using that role):`,
      ...statementLines(s.plandb),
    );
  if (s.omitted) lines.push(`  … ${s.omitted} more statements not listed (the most called are)`);
  if (s.hidden)
    lines.push(`  ${s.hidden} statements of this database are hidden from role ${s.plandbRole}: grant it pg_read_all_stats to see them`);
  return lines.join('\n');
}

interface Options {
  env: string;
  since?: string;
  reset?: boolean;
  json?: boolean;
  by: string;
}

export function legacyUsageCommand(ctx: () => CliContext): Command {
  return new Command('legacy-usage')
    .description(
      'reads and writes of plan_artifacts since a reset point (pg_stat_user_tables) and the statements that touch it (pg_stat_statements, where loaded)',
    )
    .requiredOption('--env <environment>', 'environment from plandb.config.json', environmentName)
    .option('--since <point>', 'an ISO time, a reset id, or "cutover" (default: the latest reset or cut-over)', sinceOption)
    .option('--reset', 'after the report, record a new reset point: later reports count from it')
    .option('--by <name>', 'who asks (recorded with the reading; default: the OS user)', actorName, osUser())
    .option('--json', 'print JSON')
    .action(async (opts: Options) => {
      const c = ctx();
      getEnvironment(c.config, opts.env);
      const usage = createLegacyUsage({ config: c.config, databases: c.databases, metrics: createMetrics(), logger, env: process.env });
      const report = await usage.report({ environment: opts.env, since: opts.since, actor: opts.by });
      const reset = opts.reset ? await usage.recordPoint('reset', { environment: opts.env, actor: opts.by }) : null;
      if (opts.json) return void console.log(JSON.stringify({ ...report, reset }, null, 2));
      console.log(renderLegacyUsage(report));
      if (reset) console.log(`reset point ${reset.snapshotId} recorded at ${reset.takenAt}: later reports count from it`);
    });
}
