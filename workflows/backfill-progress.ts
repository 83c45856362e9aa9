/** Progress of a backfill (query `progress`, the UI's current details, the CLI's display). Pure. */
import { BackfillRun, ZERO_COUNTERS } from '../model/backfill';
import { etaRate } from '../model/backfill-eta';
import { catchUpLines } from '../model/catch-up';
import type { ThrottleHold } from '../model/throttle';
import type { BackfillProgress } from './definitions';

export function toProgress(a: {
  environment: string;
  mode: BackfillProgress['mode'];
  run: BackfillRun | null;
  paused: boolean;
  batchSize: number;
  chunks: number;
  continuedAsNew: number;
  startedAtMs: number;
  nowMs: number;
  throttle: ThrottleHold | null;
  /** The rate predicted from an earlier run, used until this run has measured its own; null: none. */
  predictedPerSecond?: number | null;
}): BackfillProgress {
  const run = a.run;
  const seconds = Math.max((a.nowMs - a.startedAtMs) / 1000, 0.001);
  const counters = run ?? ZERO_COUNTERS;
  const rows = counters.versionsWritten + counters.seriesWritten + counters.kpisWritten + counters.eventsWritten;
  const perSecond = counters.artifactsRead / seconds;
  const left = run ? Math.max(run.artifactsTotal - run.artifactsRead, 0) : null;
  const eta = etaRate({
    measuredPerSecond: perSecond,
    artifactsRead: counters.artifactsRead,
    batchSize: a.batchSize,
    predictedPerSecond: a.predictedPerSecond ?? null,
  });
  return {
    runId: run?.runId ?? null,
    environment: a.environment,
    mode: a.mode,
    status: run?.status ?? 'starting',
    paused: a.paused,
    batchSize: a.batchSize,
    cursor: run?.cursor ?? 0,
    upToId: run?.upToId ?? 0,
    artifactsTotal: run?.artifactsTotal ?? 0,
    artifactsRead: counters.artifactsRead,
    versionsWritten: counters.versionsWritten,
    versionsSkipped: counters.versionsSkipped,
    versionsRejected: counters.versionsRejected,
    versionsConflicted: counters.versionsConflicted,
    plansWritten: counters.plansWritten,
    seriesWritten: counters.seriesWritten,
    kpisWritten: counters.kpisWritten,
    eventsWritten: counters.eventsWritten,
    errorsCount: counters.errorsCount,
    artifactsPerSecond: Math.round(perSecond * 10) / 10,
    rowsPerSecond: Math.round(rows / seconds),
    etaSeconds: left === null || eta.perSecond <= 0 ? null : Math.round(left / eta.perSecond),
    etaSource: eta.source,
    chunks: a.chunks,
    continuedAsNew: a.continuedAsNew,
    startedAt: run?.startedAt ?? null,
    updatedAt: run?.updatedAt ?? null,
    throttled: a.throttle && { reason: a.throttle.reason, detail: a.throttle.detail, seconds: Math.round(a.throttle.seconds) },
  };
}

export function renderBackfillDetails(p: BackfillProgress): string {
  const pct = p.artifactsTotal ? Math.floor((100 * p.artifactsRead) / p.artifactsTotal) : 0;
  const verb = p.mode === 'dry-run' ? 'would write' : 'written';
  return [
    `## plandb backfill — ${p.environment} (${p.mode}${p.retryOf ? ', retry of errors' : ''})`,
    '',
    ...(p.retryOf ? [`re-reads the unresolved errors of run \`${p.retryOf}\``, ''] : []),
    `**${p.status}${p.paused ? ' (paused)' : ''}** · run \`${p.runId ?? '…'}\` · ${pct}% (${p.artifactsRead}/${p.artifactsTotal} artifacts, cursor ${p.cursor}/${p.upToId})`,
    '',
    `| versions ${verb} | skipped | rejected | conflicts | series | KPIs | events |`,
    '|---|---|---|---|---|---|---|',
    `| ${p.versionsWritten} | ${p.versionsSkipped} | ${p.versionsRejected} | ${p.versionsConflicted} | ${p.seriesWritten} | ${p.kpisWritten} | ${p.eventsWritten} |`,
    '',
    `${p.artifactsPerSecond} artifacts/s · ${p.rowsPerSecond} rows/s · ETA ${p.etaSeconds === null ? '—' : `${p.etaSeconds}s`}${p.etaSource === 'predicted' ? ' (predicted from an earlier run)' : ''} · batch size ${p.batchSize}`,
    ...(p.throttled ? ['', `**throttled (${p.throttled.reason})** for ${p.throttled.seconds}s: ${p.throttled.detail}`] : []),
    ...(p.bulkLoad ? ['', `${p.bulkLoad.chosen ? '**bulk path**' : 'per-batch path'}: ${p.bulkLoad.reason}`] : []),
    ...catchUpLines(p.catchUp).map((line, i) => (i === 0 ? `\n${line}` : `- ${line}`)),
    ...shardLines(p),
  ].join('\n');
}

/** A table of the shards when there is more than one. */
function shardLines(p: BackfillProgress): string[] {
  const shards = p.shards ?? [];
  if (shards.length < 2) return [];
  return [
    '',
    '| shard | range | cursor | artifacts | rows | state |',
    '|---|---|---|---|---|---|',
    ...shards.map(
      (s) =>
        `| ${s.shard} | (${s.afterId}, ${s.upToId}] | ${s.cursor} | ${s.artifactsRead}/${s.artifactsTotal} | ${s.rowsWritten} | ${s.done ? 'done' : s.throttled ? `throttled (${s.throttled.reason})` : 'working'} |`,
    ),
  ];
}
