/**
 * Who still uses `plan_artifacts` (the checklist's "find the code that still depends on it"): deltas of
 * PostgreSQL's usage statistics against a stored reading, and when each statement touching the table was
 * last seen. PostgreSQL keeps only cumulative counters (pg_stat_user_tables, pg_stat_statements) and no
 * times, so usage "since" a point is the difference of two readings, and a statement's last use is dated by
 * the readings between which its call count moved. Pure.
 */
import { excerpt } from './text';

export const LEGACY_TABLE = 'plan_artifacts';
/** A PostgreSQL regular expression (`~*`) for statement texts that name the table. */
export const LEGACY_TABLE_PATTERN = '\\mplan_artifacts\\M';

export const TABLE_COUNTERS = ['seqScan', 'seqTupRead', 'idxScan', 'idxTupFetch', 'nTupIns', 'nTupUpd', 'nTupDel'] as const;
export type TableCounters = Record<(typeof TABLE_COUNTERS)[number], number>;

/** plan_artifacts' row of pg_stat_user_tables, with what tells a restart of its counters. */
export interface TableReading {
  relid: number;
  /** pg_stat_database.stats_reset of the database: pg_stat_reset() moves it. */
  statsReset: string | null;
  counters: TableCounters;
}

/** One pg_stat_statements entry naming the table; `key` is queryid and role (one query, several roles). */
export interface StatementReading {
  key: string;
  role: string | null;
  calls: number;
  rows: number;
  query: string;
}

export type StatementCounts = Record<string, { calls: number; rows: number }>;

export type SnapshotKind = 'reset' | 'cutover' | 'report';
export const SNAPSHOT_KINDS: readonly SnapshotKind[] = ['reset', 'cutover', 'report'];

/** A stored reading (plan_legacy_usage_snapshots). */
export interface Snapshot {
  id: number;
  kind: SnapshotKind;
  takenAt: string;
  /** The migration that took it (a cut-over), if any. */
  workflowId: string | null;
  relid: number | null;
  statsReset: string | null;
  counters: TableCounters | null;
  statements: StatementCounts | null;
  statementsReset: string | null;
}

/** `--since`: a snapshot id, the latest cut-over, or the latest reading at or before a time. */
export type SinceSelector = { kind: 'snapshot'; id: number } | { kind: 'cutover' } | { kind: 'time'; at: string };

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseSince(value: string): SinceSelector | { error: string } {
  const v = value.trim();
  if (v === 'cutover') return { kind: 'cutover' };
  if (/^\d+$/.test(v)) {
    const id = Number(v);
    if (Number.isSafeInteger(id) && id > 0) return { kind: 'snapshot', id };
  }
  if (ISO_TIME.test(v) && Number.isFinite(Date.parse(v))) return { kind: 'time', at: new Date(v).toISOString() };
  return { error: `expected an ISO time (2026-12-01T09:00:00Z), a reset id (a whole number) or "cutover", got "${excerpt(value, 60)}"` };
}

export const reads = (c: TableCounters) => c.seqScan + c.idxScan;
export const tuplesRead = (c: TableCounters) => c.seqTupRead + c.idxTupFetch;
export const writes = (c: TableCounters) => c.nTupIns + c.nTupUpd + c.nTupDel;

export interface TableDelta {
  counters: TableCounters;
  /**
   * Why the counters started over since the reference (pg_stat_reset(), a recreated table, a crash): the
   * delta is then the counters since that restart, a lower bound. Null: an exact delta.
   */
  restarted: string | null;
}

/** Usage since `reference` (null: since the statistics began, i.e. the counters themselves). */
export function tableDelta(reference: Pick<Snapshot, 'relid' | 'statsReset' | 'counters'> | null, now: TableReading): TableDelta {
  const ref = reference?.counters;
  if (!reference || !ref) return { counters: { ...now.counters }, restarted: null };
  let restarted: string | null = null;
  if (reference.relid !== null && reference.relid !== now.relid) restarted = 'plan_artifacts was recreated (another table oid)';
  else if (now.statsReset && (!reference.statsReset || Date.parse(now.statsReset) > Date.parse(reference.statsReset)))
    restarted = `the statistics were reset at ${now.statsReset} (pg_stat_reset)`;
  else if (TABLE_COUNTERS.some((k) => now.counters[k] < ref[k]))
    restarted = 'the counters went down (pg_stat_reset_single_table_counters, or a crash lost them)';
  if (restarted) return { counters: { ...now.counters }, restarted };
  const counters = Object.fromEntries(TABLE_COUNTERS.map((k) => [k, now.counters[k] - ref[k]])) as TableCounters;
  return { counters, restarted: null };
}

const WRITE_VERBS =
  /\b(insert\s+into|update|delete\s+from|merge\s+into|truncate(\s+table)?)\s+(only\s+)?("?public"?\s*\.\s*)?"?plan_artifacts"?\b/i;
const COPY_FROM = /\bcopy\s+("?public"?\s*\.\s*)?"?plan_artifacts"?\b[^;]*\bfrom\b/i;
// Utility statements (DDL, grants, maintenance) name the table without reading or writing its rows.
const UTILITY = /^\s*(\/\*[^]*?\*\/\s*|--[^\n]*\n\s*)*(create|alter|drop|grant|revoke|comment|analyze|vacuum|reindex|cluster|lock)\b/i;

export type StatementKind = 'read' | 'write' | 'other';

/** Whether a statement changes plan_artifacts' rows (write), only reads them, or neither (DDL, grants, maintenance). */
export function statementKind(query: string): StatementKind {
  if (WRITE_VERBS.test(query) || COPY_FROM.test(query)) return 'write';
  return UTILITY.test(query) ? 'other' : 'read';
}

export interface StatementUsage {
  kind: StatementKind;
  role: string | null;
  /** Run by the database role plandb connects as: plandb's own reads (or anything else sharing that role). */
  plandb: boolean;
  calls: number;
  rows: number;
  /**
   * The last call happened after `after` and at or before `notAfter`: the readings bracket it, as
   * PostgreSQL keeps no time. `after` null: before any reading, since counting began.
   */
  lastSeen: { after: string | null; notAfter: string };
  query: string;
}

export interface StatementDelta {
  used: StatementUsage[];
  /** Why the statement counters started over since the reference (pg_stat_statements_reset()); null: exact. */
  restarted: string | null;
}

const MAX_QUERY_TEXT = 300;

/**
 * Statements called since `reference`, most calls first. `readings`: the stored readings since the
 * reference (any kind, oldest first), which narrow down each statement's last call; `now` is the current
 * reading's time and `statementsReset` pg_stat_statements_info.stats_reset now.
 */
export function statementDelta(args: {
  reference: Pick<Snapshot, 'takenAt' | 'statements' | 'statementsReset'> | null;
  readings: Pick<Snapshot, 'takenAt' | 'statements' | 'statementsReset'>[];
  current: StatementReading[];
  now: string;
  statementsReset: string | null;
  plandbRole: string;
}): StatementDelta {
  const sameEpoch = (s: { statementsReset: string | null }) => s.statementsReset === args.statementsReset;
  const ref = args.reference;
  let restarted: string | null = null;
  if (ref?.statements && !sameEpoch(ref))
    restarted = `pg_stat_statements was reset at ${args.statementsReset ?? 'an unknown time'} (pg_stat_statements_reset)`;
  // Only readings of the current epoch count: an earlier one's calls are not comparable.
  const floorAt = ref ? ref.takenAt : null;
  const history = args.readings.filter((s) => s.statements && sameEpoch(s) && (!floorAt || s.takenAt >= floorAt));
  const base = ref?.statements && !restarted ? ref.statements : {};
  // Calls counted from: the reference, or the (re)start of pg_stat_statements' counting.
  const start = restarted ? (args.statementsReset ?? ref?.takenAt ?? null) : (ref?.takenAt ?? args.statementsReset ?? null);
  const used: StatementUsage[] = [];
  for (const s of args.current) {
    let before = base[s.key] ?? { calls: 0, rows: 0 };
    // Fewer calls than at the reference: this entry alone was reset (pg_stat_statements_reset(userid, dbid, queryid)).
    if (s.calls < before.calls) {
      restarted ??= 'some pg_stat_statements entries were reset since the reference (their calls went down)';
      before = { calls: 0, rows: 0 };
    }
    const calls = s.calls - before.calls;
    if (calls <= 0) continue;
    // The latest reading whose calls differ from now's: the last call came after it (and by the next reading).
    let after = start;
    let notAfter = args.now;
    for (let i = history.length - 1; i >= 0; i--) {
      if ((history[i].statements![s.key]?.calls ?? 0) !== s.calls) {
        if (!after || history[i].takenAt > after) after = history[i].takenAt;
        break;
      }
      notAfter = history[i].takenAt;
    }
    used.push({
      kind: statementKind(s.query),
      role: s.role,
      plandb: s.role === args.plandbRole,
      calls,
      rows: s.rows - before.rows,
      lastSeen: { after, notAfter },
      query: excerpt(s.query, MAX_QUERY_TEXT),
    });
  }
  used.sort((a, b) => b.calls - a.calls || a.query.localeCompare(b.query));
  return { used, restarted };
}

/** What `plandb legacy-usage` reports and stores (kind 'report' row). */
export interface LegacyUsageReport {
  environment: string;
  measuredAt: string;
  /** This report's own row: a later `--since <id>` can start from it. */
  snapshotId: number;
  /** What the deltas are against; `statistics` means since PostgreSQL's counters began (no reset point yet). */
  since: { id: number | null; kind: SnapshotKind | 'statistics'; at: string | null };
  table: {
    present: boolean;
    counters: TableCounters;
    reads: number;
    tuplesRead: number;
    writes: number;
    restarted: string | null;
  };
  statements: {
    available: boolean;
    /** Why not, when not: what to install or load. */
    unavailableReason: string | null;
    plandbRole: string;
    /** Entries whose text this role may not see (`<insufficient privilege>`): grant pg_read_all_stats. */
    hidden: number;
    application: StatementUsage[];
    plandb: StatementUsage[];
    /** Statements left out past the cap, per list. */
    omitted: number;
    restarted: string | null;
  };
}

/** Statements kept per list in a report (the most called). */
export const MAX_REPORTED_STATEMENTS = 50;

/** The report's counts, for a migration's evidence row and the activity's result (ids and counts only). */
export function reportSummary(r: LegacyUsageReport) {
  const calls = (list: StatementUsage[]) => list.reduce((n, s) => n + s.calls, 0);
  return {
    snapshotId: r.snapshotId,
    since: r.since,
    measuredAt: r.measuredAt,
    reads: r.table.reads,
    writes: r.table.writes,
    restarted: r.table.restarted ?? r.statements.restarted,
    statementsAvailable: r.statements.available,
    applicationStatements: r.statements.application.length,
    applicationCalls: calls(r.statements.application),
    applicationWrites: r.statements.application.filter((s) => s.kind === 'write').length,
    plandbStatements: r.statements.plandb.length,
  };
}
export type LegacyUsageSummary = ReturnType<typeof reportSummary>;
