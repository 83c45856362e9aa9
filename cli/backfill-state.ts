/** The backfill state file (`--state-file`): what a script or an operator reads to follow or resume a run. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { countersOf, RunCounters, ZERO_COUNTERS } from '../model/backfill';
import type { BackfillProgress } from '../workflows/definitions';

export interface BackfillState {
  workflowId: string;
  /** The backfill run id (plan_backfill_runs.run_id): what `--resume-from` takes. */
  runId: string | null;
  environment: string;
  mode: BackfillProgress['mode'];
  /**
   * The run's status while it runs; at the end, how the workflow ended (completed, failed, cancelled,
   * terminated, ...); `unknown` while the CLI has lost Temporal (cursor and counts are then the last seen).
   */
  status: string;
  cursor: number;
  upToId: number;
  counts: RunCounters;
  errors: string[];
  updatedAt: string;
  /** A retry-errors run: the run whose errors it re-reads. */
  retryOf?: string;
}

export function backfillState(a: {
  workflowId: string;
  environment: string;
  mode: BackfillProgress['mode'];
  progress: BackfillProgress | null;
  /** Set when the workflow did not complete. */
  failure?: { status: string; message: string };
  /** False while Temporal is out of reach: nobody can tell the run's status. */
  connected?: boolean;
  now: Date;
}): BackfillState {
  const p = a.progress;
  const counts = p ? countersOf(p) : { ...ZERO_COUNTERS };
  return {
    workflowId: a.workflowId,
    runId: p?.runId ?? null,
    environment: a.environment,
    mode: a.mode,
    status: a.failure?.status ?? (a.connected === false ? 'unknown' : (p?.status ?? 'starting')),
    cursor: p?.cursor ?? 0,
    upToId: p?.upToId ?? 0,
    counts,
    errors: a.failure ? [a.failure.message] : [],
    updatedAt: a.now.toISOString(),
    ...(p?.retryOf && { retryOf: p.retryOf }),
  };
}

/** Replaces the file atomically (temporary file + rename), so a reader never sees half of it. */
export async function writeStateFile(file: string, state: BackfillState): Promise<void> {
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
  await fs.rename(tmp, file);
}
