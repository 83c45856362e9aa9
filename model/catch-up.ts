/**
 * Catch-up passes of a backfill: once a run's range is done, the artifacts the application appended
 * meanwhile (ids past the run's end) are processed as a new pass, pass after pass, until a pass is small
 * (under `untilRows` artifacts or `untilSeconds`) or `maxPasses` is reached. Pure: shared by config, the
 * database layer, activities, workflows and the CLI.
 */

export interface CatchUpPolicy {
  enabled: boolean;
  /** Most catch-up passes after the run's first range. */
  maxPasses: number;
  /** A pass that read fewer artifacts than this is the last one. */
  untilRows: number;
  /** A pass that took less than this many seconds is the last one. */
  untilSeconds: number;
}

export const DEFAULT_CATCH_UP: CatchUpPolicy = { enabled: true, maxPasses: 5, untilRows: 1000, untilSeconds: 30 };
export const MAX_CATCH_UP_PASSES = 100;

/** One catch-up pass in the run row (plan_backfill_runs.catch_up): the range it added and, once done, what it read. */
export interface CatchUpPass {
  /** 1, 2, …: pass 0 is the run's first range. */
  pass: number;
  afterId: number;
  upToId: number;
  /** Artifacts in (afterId, upToId] when the pass started. */
  artifacts: number;
  /** Its shards are numbered firstShard … firstShard + shards - 1. */
  firstShard: number;
  shards: number;
  startedAt: string;
  /** Null while the pass runs; then the sums over its shards. */
  finishedAt: string | null;
  seconds: number | null;
  artifactsRead: number | null;
  rowsWritten: number | null;
  errorsCount: number | null;
  /** Application transactions still writing plan_artifacts when the wait for them gave up (ids below upToId may come later). */
  unsettledWriters?: number;
}

export type CatchUpEndReason = 'disabled' | 'caught-up' | 'under-rows' | 'under-seconds' | 'pass-limit' | 'run-closed';

export interface CatchUpEnd {
  reason: CatchUpEndReason;
  /** For operators: why no further pass runs. */
  message: string;
  at: string;
}

/** The catch-up state of a run row: its passes and, once decided, why no more run. */
export interface CatchUpState {
  passes: CatchUpPass[];
  ended: CatchUpEnd | null;
}

export const EMPTY_CATCH_UP: CatchUpState = { passes: [], ended: null };

/**
 * Why no further pass should start, judged on the passes so far (the last one finished), or null: read the
 * legacy table's end and start one if it moved. The first range (pass 0) is never judged: at least one
 * catch-up pass looks for what was appended while it ran.
 */
export function catchUpStop(policy: CatchUpPolicy, passes: readonly CatchUpPass[]): Omit<CatchUpEnd, 'at'> | null {
  if (!policy.enabled) return { reason: 'disabled', message: 'catch-up passes are disabled (backfill.catchUp.enabled)' };
  const last = passes.at(-1);
  if (last && (last.artifactsRead ?? 0) < policy.untilRows) {
    return {
      reason: 'under-rows',
      message: `pass ${last.pass} read ${last.artifactsRead ?? 0} artifacts, under catchUp.untilRows ${policy.untilRows}`,
    };
  }
  if (last && (last.seconds ?? 0) < policy.untilSeconds) {
    return {
      reason: 'under-seconds',
      message: `pass ${last.pass} took ${(last.seconds ?? 0).toFixed(1)}s, under catchUp.untilSeconds ${policy.untilSeconds}`,
    };
  }
  if (passes.length >= policy.maxPasses) {
    return { reason: 'pass-limit', message: `${passes.length} catch-up passes ran: catchUp.maxPasses ${policy.maxPasses} reached` };
  }
  return null;
}

/** Problems with a backfill input's `catchUp` override, each naming the field; empty when it is fine. */
export function checkCatchUpOverride(v: unknown): string[] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return ['"catchUp" must be an object such as {"maxPasses": 3}'];
  const o = v as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(o)) {
    if (!(key in DEFAULT_CATCH_UP)) problems.push(`"catchUp": unknown field "${key}" (known: ${Object.keys(DEFAULT_CATCH_UP).join(', ')})`);
  }
  if (o.enabled !== undefined && typeof o.enabled !== 'boolean') problems.push('"catchUp.enabled" must be true or false');
  const n = o.maxPasses;
  if (n !== undefined && !(typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_CATCH_UP_PASSES)) {
    problems.push(`"catchUp.maxPasses" must be a whole number from 1 to ${MAX_CATCH_UP_PASSES}, got ${JSON.stringify(n)}`);
  }
  if (o.untilRows !== undefined && !(typeof o.untilRows === 'number' && Number.isSafeInteger(o.untilRows) && o.untilRows >= 0)) {
    problems.push(`"catchUp.untilRows" must be a whole number >= 0, got ${JSON.stringify(o.untilRows)}`);
  }
  if (o.untilSeconds !== undefined && !(typeof o.untilSeconds === 'number' && Number.isFinite(o.untilSeconds) && o.untilSeconds >= 0)) {
    problems.push(`"catchUp.untilSeconds" must be a number >= 0, got ${JSON.stringify(o.untilSeconds)}`);
  }
  return problems;
}

/** One line per pass for the CLI and the UI's details. */
export function describePass(p: CatchUpPass): string {
  const range = `ids (${p.afterId}, ${p.upToId}], ${p.artifacts} artifacts`;
  if (p.finishedAt === null) return `pass ${p.pass}: ${range}, running`;
  return `pass ${p.pass}: ${range}, read ${p.artifactsRead ?? 0} (${p.rowsWritten ?? 0} rows, ${p.errorsCount ?? 0} errors) in ${(p.seconds ?? 0).toFixed(1)}s`;
}

/** The catch-up passes for progress displays: a heading line, then one per pass; none before the first pass. */
export function catchUpLines(c: (CatchUpState & { pass: number }) | undefined): string[] {
  if (!c || (!c.passes.length && !c.ended)) return [];
  const heading = c.ended
    ? `catch-up: ${c.passes.length} pass${c.passes.length === 1 ? '' : 'es'}, ended (${c.ended.reason}): ${c.ended.message}`
    : `catch-up pass ${c.pass} running`;
  return [heading, ...c.passes.map(describePass)];
}
