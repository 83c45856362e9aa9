/** Text for `plandb status` and the end of `plandb backfill` on a terminal. Pure. */
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { catchUpLines } from '../model/catch-up';
import type { BackfillProgress } from '../workflows/definitions';
import { formatEta } from './progress-display';

export interface WorkflowSummary {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  taskQueue: string;
  startTime: string;
  closeTime: string | null;
  historyLength: number;
  searchAttributes: Record<string, unknown>;
}

export function workflowSummary(d: WorkflowExecutionDescription): WorkflowSummary {
  return {
    workflowId: d.workflowId,
    runId: d.runId,
    type: d.type,
    status: d.status.name,
    taskQueue: d.taskQueue,
    startTime: d.startTime.toISOString(),
    closeTime: d.closeTime?.toISOString() ?? null,
    historyLength: d.historyLength,
    searchAttributes: Object.fromEntries(
      d.typedSearchAttributes.getAll().map((pair) => [pair.key.name, pair.value instanceof Date ? pair.value.toISOString() : pair.value]),
    ),
  };
}

export function renderBackfillProgress(p: BackfillProgress): string {
  const pct = p.artifactsTotal ? Math.floor((100 * p.artifactsRead) / p.artifactsTotal) : 0;
  const verb = p.mode === 'dry-run' ? 'to write' : 'written';
  const status = p.paused && p.status === 'running' ? 'pausing (after the batch in flight)' : p.status;
  return [
    `backfill run ${p.runId ?? '(not started)'} on ${p.environment} (${p.mode}${p.retryOf ? `, retry of the errors of run ${p.retryOf}` : ''}): ${status}, ${pct}% (${p.artifactsRead}/${p.artifactsTotal} artifacts, cursor ${p.cursor} of ${p.upToId})`,
    `  versions ${verb} ${p.versionsWritten}, skipped ${p.versionsSkipped}, rejected ${p.versionsRejected}, conflicts ${p.versionsConflicted}; plans ${p.plansWritten}`,
    `  rows ${verb}: series ${p.seriesWritten}, KPIs ${p.kpisWritten}, events ${p.eventsWritten}; errors ${p.errorsCount}`,
    `  ${p.artifactsPerSecond} artifacts/s, ${p.rowsPerSecond} rows/s, ETA ${formatEta(p.etaSeconds)}${p.etaSource === 'predicted' ? ' (predicted)' : ''}, batch size ${p.batchSize}, ${p.chunks} chunks`,
    ...(p.throttled ? [`  throttled (${p.throttled.reason}) for ${p.throttled.seconds}s: ${p.throttled.detail}`] : []),
    ...catchUpLines(p.catchUp).map((line, i) => (i === 0 ? `  ${line}` : `    ${line}`)),
    ...((p.shards?.length ?? 0) > 1
      ? p.shards!.map(
          (s) =>
            `  shard ${s.shard}: ${s.done ? 'done' : s.throttled ? `throttled (${s.throttled.reason})` : 'working'}, ${s.artifactsRead}/${s.artifactsTotal} artifacts, cursor ${s.cursor} in (${s.afterId}, ${s.upToId}], ${s.rowsWritten} rows`,
        )
      : []),
  ].join('\n');
}

/** `progress` is undefined for workflows that have none, null when a backfill could not answer the query. */
export function renderStatus(w: WorkflowSummary, progress?: BackfillProgress | null): string {
  const attributes = Object.entries(w.searchAttributes).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`);
  const lines = [
    `${w.workflowId} (${w.type}): ${w.status}`,
    `  run ${w.runId}, task queue ${w.taskQueue}, ${w.historyLength} history events`,
    `  started ${w.startTime}${w.closeTime ? `, closed ${w.closeTime}` : ''}`,
    `  search attributes: ${attributes.length ? attributes.join(' ') : '-'}`,
  ];
  if (progress)
    lines.push(
      ...renderBackfillProgress(progress)
        .split('\n')
        .map((line) => `  ${line}`),
    );
  else if (progress === null)
    lines.push(
      '  progress: not available (no worker answered, the workflow has not run its first task, or it failed before it could report)',
    );
  return lines.join('\n');
}
