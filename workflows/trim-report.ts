/** A capacity trim report as Markdown: the workflow's current details and `plandb trim`'s output. Pure. */
import type { TrimReport } from '../activities/trim';

export function renderTrimReport(r: TrimReport): string {
  const end = r.stop === 'nothing-trimmable' ? 'still over maxRows: only latest versions are left' : 'within maxRows';
  return [
    `## plandb capacity trim${r.dryRun ? ' (dry run)' : ''} — ${r.environment}`,
    '',
    `- plan_series rows: ${r.rowsBefore} → ${r.rowsAfter} (maxRows ${r.maxRows}): ${end}`,
    r.dryRun
      ? `- would trim ${r.versionsTrimmed} versions, ${r.rowsTrimmed} series rows; nothing was deleted`
      : `- trimmed ${r.versionsTrimmed} versions, ${r.rowsTrimmed} series rows in ${r.batches} batches`,
    ...(r.alerted
      ? [`- **guard alert**: more than ${r.alertThreshold} rows trimmed (\`plan_repository_capacity_trim_alert\` logged)`]
      : []),
    `- recorded as \`plan_db_trim_runs\` row ${r.trimRunId}`,
  ].join('\n');
}
