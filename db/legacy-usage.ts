/**
 * Usage statistics of plan_artifacts and their stored readings (plan_legacy_usage_snapshots): the table's
 * row of pg_stat_user_tables, and the pg_stat_statements entries whose text names the table, when that
 * extension is installed in the database and loaded by the server (shared_preload_libraries).
 */
import pg from 'pg';
import type { Queryable } from './connection';
import {
  LEGACY_TABLE,
  LEGACY_TABLE_PATTERN,
  reads,
  tableDelta,
  writes,
  type LegacyUsageReport,
  type SinceSelector,
  type Snapshot,
  type SnapshotKind,
  type StatementCounts,
  type StatementReading,
  type TableReading,
} from '../model/legacy-usage';

/** Undefined: no plan_artifacts table. */
export async function readTableUsage(db: Queryable): Promise<TableReading | undefined> {
  const res = await db.query<{
    relid: number | null;
    seq_scan: number;
    seq_tup_read: number;
    idx_scan: number;
    idx_tup_fetch: number;
    n_tup_ins: number;
    n_tup_upd: number;
    n_tup_del: number;
    stats_reset: Date | null;
  }>(
    `SELECT s.relid::int8 AS relid, s.seq_scan, s.seq_tup_read, coalesce(s.idx_scan, 0) AS idx_scan,
            coalesce(s.idx_tup_fetch, 0) AS idx_tup_fetch, s.n_tup_ins, s.n_tup_upd, s.n_tup_del, d.stats_reset
       FROM pg_stat_database d LEFT JOIN pg_stat_user_tables s ON s.schemaname = 'public' AND s.relname = $1
      WHERE d.datname = current_database()`,
    [LEGACY_TABLE],
  );
  const r = res.rows[0];
  if (!r || r.relid === null) return undefined;
  return {
    relid: r.relid,
    statsReset: r.stats_reset?.toISOString() ?? null,
    counters: {
      seqScan: r.seq_scan,
      seqTupRead: r.seq_tup_read,
      idxScan: r.idx_scan,
      idxTupFetch: r.idx_tup_fetch,
      nTupIns: r.n_tup_ins,
      nTupUpd: r.n_tup_upd,
      nTupDel: r.n_tup_del,
    },
  };
}

/** `hasInfo`: pg_stat_statements_info (extension 1.9+, PostgreSQL 14+) tells when the counters were last reset. */
export type StatementsSource = { available: true; schema: string; hasInfo: boolean } | { available: false; reason: string };

/** Whether pg_stat_statements can be read here: created in this database and loaded by the server. */
export async function statementsSource(db: Queryable): Promise<StatementsSource> {
  const ext = await db.query<{ schema: string; loaded: boolean; has_info: boolean }>(
    `SELECT n.nspname AS schema, to_regclass(quote_ident(n.nspname) || '.pg_stat_statements_info') IS NOT NULL AS has_info,
            'pg_stat_statements' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')) AS loaded
       FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`,
  );
  const row = ext.rows[0];
  if (!row)
    return {
      available: false,
      reason: 'the extension pg_stat_statements is not created in this database (CREATE EXTENSION pg_stat_statements)',
    };
  if (!row.loaded)
    return {
      available: false,
      reason: 'pg_stat_statements is created but the server does not load it (add it to shared_preload_libraries and restart)',
    };
  return { available: true, schema: row.schema, hasInfo: row.has_info };
}

/** Most-called first, at most `limit`; `hidden`: entries of this database whose text the role may not see. */
export async function readStatements(
  db: Queryable,
  source: { schema: string; hasInfo: boolean },
  limit: number,
): Promise<{ statements: StatementReading[]; hidden: number; statementsReset: string | null }> {
  const schema = pg.escapeIdentifier(source.schema);
  const view = `${schema}.pg_stat_statements`;
  const reset = source.hasInfo ? `(SELECT stats_reset FROM ${schema}.pg_stat_statements_info)` : 'NULL::timestamptz';
  // One query, so the entries, the hidden count and the reset time are one consistent reading.
  const res = await db.query<{
    entries: { key: string; role: string | null; calls: number; rows: number; query: string }[];
    hidden: number;
    reset: Date | null;
  }>(
    `WITH here AS (SELECT * FROM ${view} WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()))
     SELECT (SELECT coalesce(json_agg(e ORDER BY e.calls DESC), '[]'::json) FROM (
               SELECT h.queryid::text || ':' || h.userid::text AS key, r.rolname AS role, sum(h.calls)::int8 AS calls,
                      sum(h.rows)::int8 AS rows, min(h.query) AS query
                 FROM here h LEFT JOIN pg_roles r ON r.oid = h.userid
                WHERE h.query ~* $1 GROUP BY h.queryid, h.userid, r.rolname ORDER BY calls DESC LIMIT $2) e) AS entries,
            (SELECT count(*)::int FROM here WHERE query = '<insufficient privilege>') AS hidden,
            ${reset} AS reset`,
    [LEGACY_TABLE_PATTERN, limit],
  );
  const r = res.rows[0];
  return {
    statements: r.entries.map((e) => ({ key: e.key, role: e.role, calls: Number(e.calls), rows: Number(e.rows), query: e.query })),
    hidden: r.hidden,
    statementsReset: r.reset?.toISOString() ?? null,
  };
}

export async function currentRole(db: Queryable): Promise<string> {
  return (await db.query<{ role: string }>(`SELECT current_user AS role`)).rows[0].role;
}

export interface NewSnapshot {
  environment: string;
  kind: SnapshotKind;
  actor: string | null;
  workflowId: string | null;
  table: TableReading | undefined;
  statements: StatementCounts | null;
  statementsReset: string | null;
  /** kind 'report': the reading it is measured against (its result follows with `storeReport`). */
  referenceId?: number | null;
}

export async function insertSnapshot(db: Queryable, s: NewSnapshot): Promise<{ id: number; takenAt: string }> {
  const res = await db.query<{ id: number; taken_at: Date }>(
    `INSERT INTO plan_legacy_usage_snapshots
       (environment, kind, actor, workflow_id, relid, stats_reset, counters, statements, statements_reset, reference_id, taken_at)
     -- Milliseconds, as JavaScript and the reports show it: "--since <a reading's time>" then finds that reading.
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, date_trunc('milliseconds', clock_timestamp()))
     RETURNING id, taken_at`,
    [
      s.environment,
      s.kind,
      s.actor,
      s.workflowId,
      s.table?.relid ?? null,
      s.table?.statsReset ?? null,
      s.table ? JSON.stringify(s.table.counters) : null,
      s.statements ? JSON.stringify(s.statements) : null,
      s.statementsReset,
      s.referenceId ?? null,
    ],
  );
  return { id: res.rows[0].id, takenAt: res.rows[0].taken_at.toISOString() };
}

type SnapshotRow = {
  id: number;
  kind: SnapshotKind;
  taken_at: Date;
  workflow_id: string | null;
  relid: number | null;
  stats_reset: Date | null;
  counters: Snapshot['counters'];
  statements: Snapshot['statements'];
  statements_reset: Date | null;
};

const COLUMNS = `id, kind, taken_at, workflow_id, relid, stats_reset, counters, statements, statements_reset`;

const snapshotOf = (r: SnapshotRow): Snapshot => ({
  id: r.id,
  kind: r.kind,
  takenAt: r.taken_at.toISOString(),
  workflowId: r.workflow_id,
  relid: r.relid,
  statsReset: r.stats_reset?.toISOString() ?? null,
  counters: r.counters,
  statements: r.statements,
  statementsReset: r.statements_reset?.toISOString() ?? null,
});

/**
 * The reading `since` names; without one, the latest reset point (`reset` or `cutover`). Undefined: none
 * matches (an unknown id, no cut-over recorded, nothing at or before the time, or no reset point yet).
 */
export async function findReference(db: Queryable, environment: string, since?: SinceSelector): Promise<Snapshot | undefined> {
  const where =
    since?.kind === 'snapshot'
      ? `id = $2`
      : since?.kind === 'cutover'
        ? `kind = 'cutover'`
        : since?.kind === 'time'
          ? `taken_at <= $2`
          : `kind IN ('reset', 'cutover')`;
  const params: unknown[] = [environment];
  if (since?.kind === 'snapshot') params.push(since.id);
  if (since?.kind === 'time') params.push(since.at);
  const res = await db.query<SnapshotRow>(
    `SELECT ${COLUMNS} FROM plan_legacy_usage_snapshots WHERE environment = $1 AND ${where} ORDER BY taken_at DESC, id DESC LIMIT 1`,
    params,
  );
  return res.rows[0] ? snapshotOf(res.rows[0]) : undefined;
}

/** Readings with statement counts taken at or after `from` (the latest `limit`, oldest first): they date last calls. */
export async function readingsSince(db: Queryable, environment: string, from: string | null, limit: number): Promise<Snapshot[]> {
  const res = await db.query<SnapshotRow>(
    `SELECT * FROM (SELECT ${COLUMNS} FROM plan_legacy_usage_snapshots
                     WHERE environment = $1 AND statements IS NOT NULL AND ($2::timestamptz IS NULL OR taken_at >= $2)
                     ORDER BY taken_at DESC, id DESC LIMIT $3) t ORDER BY taken_at, id`,
    [environment, from, limit],
  );
  return res.rows.map(snapshotOf);
}

/** A report names its own row (`--since <id>` starts from it), so it is written once the id is known. */
export async function storeReport(db: Queryable, id: number, report: LegacyUsageReport): Promise<void> {
  await db.query(`UPDATE plan_legacy_usage_snapshots SET report = $2 WHERE id = $1`, [id, JSON.stringify(report)]);
}

/**
 * What the metrics measure against: the latest cut-over, or a `reset` taken after it (an operator who dealt
 * with the writes acknowledges them). Undefined: no cut-over recorded for the environment.
 */
export async function metricsReference(
  db: Queryable,
  environment: string,
): Promise<{ cutoverAt: string; reference: Snapshot } | undefined> {
  const res = await db.query<SnapshotRow & { cutover_at: Date }>(
    `WITH c AS (SELECT taken_at FROM plan_legacy_usage_snapshots WHERE environment = $1 AND kind = 'cutover' ORDER BY taken_at DESC LIMIT 1)
     SELECT s.*, c.taken_at AS cutover_at FROM c CROSS JOIN LATERAL (
       SELECT ${COLUMNS} FROM plan_legacy_usage_snapshots
        WHERE environment = $1 AND kind IN ('cutover', 'reset') AND taken_at >= c.taken_at ORDER BY taken_at DESC, id DESC LIMIT 1) s`,
    [environment],
  );
  const r = res.rows[0];
  return r ? { cutoverAt: r.cutover_at.toISOString(), reference: snapshotOf(r) } : undefined;
}

export interface LegacySinceCutover {
  cutoverAt: string;
  reads: number;
  writes: number;
}

/** The metrics' reading: usage since the latest cut-over (or a later reset); null: no cut-over, or no table. */
export async function legacySinceCutover(db: Queryable, environment: string): Promise<LegacySinceCutover | null> {
  const ref = await metricsReference(db, environment);
  const table = ref ? await readTableUsage(db) : undefined;
  if (!ref || !table) return null;
  const delta = tableDelta(ref.reference, table).counters;
  return { cutoverAt: ref.cutoverAt, reads: reads(delta), writes: writes(delta) };
}

/** `plandb dev` only: its embedded server preloads pg_stat_statements; each database needs the extension's views. */
export async function createStatementsExtension(db: Queryable): Promise<void> {
  await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
}
