/**
 * The bulk-load path of a first load into an empty PlanRepository (PostgreSQL's "Populating a Database"
 * advice, as pgloader does it): the child tables lose their foreign keys, primary keys and secondary
 * indexes (plan_versions its secondary ones) before the load, and get them back, built set-based, after it.
 *
 * Every stage is idempotent and restartable. What was dropped is captured from the catalog
 * (pg_get_constraintdef / pg_get_indexdef) before dropping and kept in the run row's `options.bulkLoad`;
 * what is built already is read from the catalog itself (pg_constraint, pg_index.indisvalid), so a finish
 * that crashed anywhere is simply run again and does only what is missing.
 */
import pg from 'pg';
import { type BuildStage, DEFAULT_MAINTENANCE_WORK_MEM, MEMORY_SETTING_PATTERN } from '../model/bulk-load';
import { REPOSITORY_TABLES } from '../model/tables';
import { Queryable, withClient } from './connection';
import { getMaintenance } from './maintenance';
import { sqlstateOf } from './pg-errors';
import { tableExists } from './server-info';

/** The tables whose keys and foreign keys are dropped: the bulk of the rows. */
const BULK_CHILD_TABLES = ['plan_series', 'plan_kpis', 'plan_events'] as const;
/**
 * Only its secondary structures are dropped: its primary key stays because the batch writer looks up
 * existing checksums by it, and plans keeps everything (the writer's ON CONFLICT needs its key).
 */
const BULK_PARENT_TABLE = 'plan_versions';

/** A key (primary or unique constraint) is rebuilt as an index and then attached with USING INDEX. */
export type BulkObjectKind = 'key' | 'index' | 'foreignKey';

export interface BulkObject {
  kind: BulkObjectKind;
  table: string;
  name: string;
  /** pg_get_constraintdef: keys and foreign keys. */
  constraintDef: string | null;
  /** pg_get_indexdef: keys (their index) and secondary indexes. */
  indexDef: string | null;
  /** 'PRIMARY KEY' or 'UNIQUE' for keys. */
  keyType: 'PRIMARY KEY' | 'UNIQUE' | null;
}

/** Stored in plan_backfill_runs.options.bulkLoad of the run that prepared. */
export interface BulkLoadRecord {
  preparedAt: string;
  objects: BulkObject[];
  finishedAt?: string;
}

export interface PendingBulkLoad {
  runId: string;
  record: BulkLoadRecord;
}

/** none: no bulk load; prepared: structures dropped, none rebuilt yet; building: some rebuilt. */
export type BulkLoadState = 'none' | 'prepared' | 'building';

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** The prepared and not finished bulk load of this database, if any (at most one: prepare reuses it). */
export async function pendingBulkLoad(db: Queryable): Promise<PendingBulkLoad | null> {
  // Before the migrations there is no run table, and no bulk load either.
  if (!(await tableExists(db, 'plan_backfill_runs'))) return null;
  const res = await db.query<{ run_id: string; bulk: BulkLoadRecord }>(
    `SELECT run_id, options->'bulkLoad' AS bulk FROM plan_backfill_runs
      WHERE options ? 'bulkLoad' AND NOT (options->'bulkLoad' ? 'finishedAt')
      ORDER BY started_at DESC LIMIT 1`,
  );
  return res.rows[0] ? { runId: res.rows[0].run_id, record: res.rows[0].bulk } : null;
}

interface CatalogEntry {
  /** The constraint of that name exists (and is validated: convalidated). */
  constraint: { validated: boolean } | null;
  /** The index of that name exists (and is valid: indisvalid). */
  index: { valid: boolean } | null;
}

/** What the catalog holds now for each object, by `table.name`. */
async function catalogOf(db: Queryable, objects: BulkObject[]): Promise<Map<string, CatalogEntry>> {
  const tables = [...new Set(objects.map((o) => o.table))];
  const [constraints, indexes] = await Promise.all([
    db.query<{ tbl: string; name: string; validated: boolean }>(
      `SELECT t.relname AS tbl, c.conname AS name, c.convalidated AS validated
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
        WHERE t.relnamespace = 'public'::regnamespace AND t.relname = ANY($1::text[])`,
      [tables],
    ),
    db.query<{ tbl: string; name: string; valid: boolean }>(
      `SELECT t.relname AS tbl, i.relname AS name, x.indisvalid AS valid
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relnamespace = 'public'::regnamespace AND t.relname = ANY($1::text[])`,
      [tables],
    ),
  ]);
  const out = new Map<string, CatalogEntry>(objects.map((o) => [`${o.table}.${o.name}`, { constraint: null, index: null }]));
  for (const c of constraints.rows) {
    const entry = out.get(`${c.tbl}.${c.name}`);
    if (entry) entry.constraint = { validated: c.validated };
  }
  for (const i of indexes.rows) {
    const entry = out.get(`${i.tbl}.${i.name}`);
    if (entry) entry.index = { valid: i.valid };
  }
  return out;
}

/** Done as the migrations define it: a key or foreign key exists and is validated, an index exists and is valid. */
function isBuilt(object: BulkObject, entry: CatalogEntry | undefined): boolean {
  if (!entry) return false;
  return object.kind === 'index' ? entry.index?.valid === true : entry.constraint?.validated === true;
}

export async function bulkLoadState(db: Queryable): Promise<BulkLoadState> {
  const pending = await pendingBulkLoad(db);
  if (!pending) return 'none';
  const catalog = await catalogOf(db, pending.record.objects);
  const touched = pending.record.objects.some((o) => {
    const entry = catalog.get(`${o.table}.${o.name}`);
    return entry?.constraint || entry?.index;
  });
  return touched ? 'building' : 'prepared';
}

export interface BulkLoadEligibility {
  eligible: boolean;
  /** Shown to operators, eligible or not. */
  reason: string;
}

/**
 * Client sessions, not autovacuum or other server processes. pg_stat_activity shows every role the pid,
 * user, database and application_name of every session, but backend_type only with pg_read_all_stats
 * (or for its own role): a NULL there is someone else's session and counts, on the safe side.
 */
const CLIENT_BACKEND = `(a.backend_type = 'client backend' OR a.backend_type IS NULL)`;

type SessionRow = { pid: number; application_name: string; usename: string | null };
const describeSession = (s: SessionRow) => `pid ${s.pid} (application "${s.application_name}", user ${s.usename ?? '?'})`;

/**
 * Whether a first load may take the bulk path. The rule, in order:
 * 1. No bulk load is pending (an unfinished one must be finished first, never stacked).
 * 2. No other client backend (plandb's own sessions, application_name plandb%, and this one excepted)
 *    holds or waits for a lock on a repository table: someone is reading or writing it now.
 * 3. All repository tables are empty: the build afterwards checks only what this load wrote.
 * 4. No one else will write them meanwhile, since nothing would check their rows until the build: the
 *    environment's maintenance flag is on (the Plan creation API does not write) or no other client
 *    session is connected to the database at all.
 * pg_locks shows every session's locks and pg_stat_activity every session's application_name (see
 * CLIENT_BACKEND), so a role without pg_read_all_stats still sees who is there. prepareBulkLoad checks emptiness again
 * under its exclusive locks, so a writer arriving after this check is caught there or blocked by them.
 */
export async function bulkLoadEligibility(db: Queryable, environment: string): Promise<BulkLoadEligibility> {
  const pending = await pendingBulkLoad(db);
  if (pending) return { eligible: false, reason: `a bulk load prepared by run ${pending.runId} is not finished: finish it first` };
  const lockers = await db.query<SessionRow & { tbl: string; mode: string; granted: boolean }>(
    `SELECT DISTINCT a.pid, a.application_name, a.usename, t.relname AS tbl, l.mode, l.granted
       FROM pg_locks l JOIN pg_class t ON t.oid = l.relation JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'relation' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND t.relnamespace = 'public'::regnamespace AND t.relname = ANY($1::text[])
        AND a.pid <> pg_backend_pid() AND a.application_name NOT LIKE 'plandb%' AND ${CLIENT_BACKEND}
      ORDER BY a.pid, t.relname`,
    [[...REPOSITORY_TABLES]],
  );
  if (lockers.rows.length) {
    const l = lockers.rows[0];
    const more = lockers.rows.length > 1 ? ` (and ${lockers.rows.length - 1} more locks)` : '';
    return {
      eligible: false,
      reason: `another session uses the repository: ${describeSession(l)} ${l.granted ? 'holds' : 'waits for'} ${l.mode} on ${l.tbl}${more}`,
    };
  }

  // After the lock check: reading the tables would itself queue behind someone's exclusive lock.
  const nonEmpty = await nonEmptyTables(db);
  if (nonEmpty.length) return { eligible: false, reason: `repository not empty: ${nonEmpty.map((t) => `${t} has rows`).join(', ')}` };

  const maintenance = await getMaintenance(db);
  if (maintenance.enabled) return { eligible: true, reason: `repository empty and unlocked; maintenance is on for ${environment}` };
  const others = await db.query<SessionRow>(
    `SELECT a.pid, a.application_name, a.usename FROM pg_stat_activity a
      WHERE a.datname = current_database() AND ${CLIENT_BACKEND}
        AND a.pid <> pg_backend_pid() AND a.application_name NOT LIKE 'plandb%'
      ORDER BY a.pid`,
  );
  if (others.rows.length) {
    return {
      eligible: false,
      reason:
        `maintenance is off for ${environment} and ${others.rows.length} other session(s) are connected, ` +
        `so the Plan creation API may write: ${others.rows.slice(0, 3).map(describeSession).join(', ')}`,
    };
  }
  return { eligible: true, reason: `repository empty and unlocked; no other session is connected to the database` };
}

async function nonEmptyTables(db: Queryable): Promise<string[]> {
  const res = await db.query<Record<string, boolean>>(
    `SELECT ${REPOSITORY_TABLES.map((t) => `EXISTS (SELECT 1 FROM ${quoteIdent(t)}) AS ${quoteIdent(t)}`).join(', ')}`,
  );
  return REPOSITORY_TABLES.filter((t) => res.rows[0][t]);
}

/** Refused by prepareBulkLoad (the repository filled up since the check, or the run row is missing). */
export class BulkLoadRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BulkLoadRefusedError';
  }
}

/** Captures, from the catalog, everything prepare drops: keys and foreign keys, then indexes no constraint owns. */
async function captureObjects(db: Queryable): Promise<BulkObject[]> {
  const children = [...BULK_CHILD_TABLES];
  const constraints = await db.query<{
    tbl: string;
    name: string;
    contype: 'p' | 'u' | 'f';
    constraint_def: string;
    index_def: string | null;
  }>(
    `SELECT t.relname AS tbl, c.conname AS name, c.contype, pg_get_constraintdef(c.oid) AS constraint_def,
            CASE WHEN c.contype IN ('p', 'u') THEN pg_get_indexdef(c.conindid) END AS index_def
       FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
      WHERE t.relnamespace = 'public'::regnamespace
        AND ((t.relname = ANY($1::text[]) AND c.contype IN ('p', 'u', 'f')) OR (t.relname = $2 AND c.contype = 'u'))
      ORDER BY t.relname, c.conname`,
    [children, BULK_PARENT_TABLE],
  );
  const indexes = await db.query<{ tbl: string; name: string; index_def: string }>(
    `SELECT t.relname AS tbl, i.relname AS name, pg_get_indexdef(x.indexrelid) AS index_def
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
      WHERE t.relnamespace = 'public'::regnamespace AND t.relname = ANY($1::text[])
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
      ORDER BY t.relname, i.relname`,
    [[...children, BULK_PARENT_TABLE]],
  );
  return [
    ...constraints.rows.map((c): BulkObject => ({
      kind: c.contype === 'f' ? 'foreignKey' : 'key',
      table: c.tbl,
      name: c.name,
      constraintDef: c.constraint_def,
      indexDef: c.index_def,
      keyType: c.contype === 'p' ? 'PRIMARY KEY' : c.contype === 'u' ? 'UNIQUE' : null,
    })),
    ...indexes.rows.map((i): BulkObject => ({
      kind: 'index',
      table: i.tbl,
      name: i.name,
      constraintDef: null,
      indexDef: i.index_def,
      keyType: null,
    })),
  ];
}

export interface PrepareResult {
  /** false: a bulk load was already prepared (by `runId`), nothing was done. */
  prepared: boolean;
  runId: string;
  objects: BulkObject[];
}

/** How long prepare waits for its exclusive locks before giving up (the tables are meant to be idle). */
const PREPARE_LOCK_TIMEOUT = '10s';

/**
 * Drops the structures of the bulk path in one transaction and records their definitions in run `runId`'s
 * options.bulkLoad. A second call (an activity retry) finds the record and does nothing.
 */
export async function prepareBulkLoad(pool: pg.Pool, runId: string): Promise<PrepareResult> {
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    try {
      await client.query(`SET LOCAL lock_timeout = '${PREPARE_LOCK_TIMEOUT}'`);
      await client.query(`LOCK TABLE ${REPOSITORY_TABLES.map(quoteIdent).join(', ')} IN ACCESS EXCLUSIVE MODE`);
      const pending = await pendingBulkLoad(client);
      if (pending) {
        await client.query('COMMIT');
        return { prepared: false, runId: pending.runId, objects: pending.record.objects };
      }
      // Checked again under the locks: a writer that came after the eligibility check is seen here.
      const nonEmpty = await nonEmptyTables(client);
      if (nonEmpty.length) throw new BulkLoadRefusedError(`repository not empty: ${nonEmpty.map((t) => `${t} has rows`).join(', ')}`);
      const objects = await captureObjects(client);
      // Foreign keys before the keys they could reference.
      for (const kind of ['foreignKey', 'key'])
        for (const o of objects.filter((x) => x.kind === kind))
          await client.query(`ALTER TABLE ${quoteIdent(o.table)} DROP CONSTRAINT ${quoteIdent(o.name)}`);
      for (const o of objects.filter((x) => x.kind === 'index')) await client.query(`DROP INDEX ${quoteIdent(o.name)}`);
      // Last, so a missing run row rolls the drops back with it.
      const record: BulkLoadRecord = { preparedAt: new Date().toISOString(), objects };
      const res = await client.query(
        `UPDATE plan_backfill_runs SET options = options || jsonb_build_object('bulkLoad', $2::jsonb), updated_at = now() WHERE run_id = $1`,
        [runId, JSON.stringify(record)],
      );
      if (res.rowCount !== 1) throw new BulkLoadRefusedError(`backfill run ${runId} does not exist: nothing to record the bulk load in`);
      await client.query('COMMIT');
      return { prepared: true, runId, objects };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

export interface BulkStep {
  stage: BuildStage;
  table: string;
  name: string;
  /** built: made now; skipped: the catalog showed it done; failed: see the error finish throws. */
  outcome: 'built' | 'skipped' | 'failed';
  /** What the catalog held before: an invalid index left by an interrupted build is dropped and redone. */
  found: 'nothing' | 'valid index' | 'invalid index' | 'not validated' | 'done';
  seconds: number;
}

export interface FinishOptions {
  /** maintenance_work_mem of each build (SET LOCAL). */
  maintenanceWorkMem?: string;
  /** Independent builds run at once on this many pool connections. */
  parallel?: number;
  /** Called before and after each step; a throw stops the build where it is (finish can be run again). */
  onStep?: (step: BulkStep | { stage: BuildStage; table: string; name: string; outcome: 'started' }) => void | Promise<void>;
}

export interface FinishResult {
  /** null: no bulk load was pending. */
  runId: string | null;
  steps: BulkStep[];
}

/** The two ways the loaded rows can break a build: a retry cannot change either. */
const DATA_PROBLEMS = {
  '23505': { name: 'BulkLoadDuplicateKeyError', what: 'has duplicate rows for', fix: 'delete the duplicates' },
  '23503': { name: 'BulkLoadOrphanRowsError', what: 'has rows violating', fix: 'delete them' },
} as const;

/** A key's unique index (23505) or a foreign key's VALIDATE (23503) failed on the rows loaded. */
export class BulkLoadDataError extends Error {
  constructor(
    readonly sqlstate: keyof typeof DATA_PROBLEMS,
    readonly table: string,
    readonly constraint: string,
    readonly pgDetail: string,
  ) {
    const problem = DATA_PROBLEMS[sqlstate];
    super(`bulk load: ${table} ${problem.what} ${constraint}: ${pgDetail} (${problem.fix}, then finish the bulk load again)`);
    this.name = problem.name;
  }
}

function dataError(object: BulkObject, err: unknown): unknown {
  const sqlstate = sqlstateOf(err);
  if (sqlstate !== '23505' && sqlstate !== '23503') return err;
  return new BulkLoadDataError(sqlstate, object.table, object.name, (err as { detail?: string }).detail ?? (err as Error).message);
}

/** Runs `statements` in one transaction with maintenance_work_mem set for it. */
async function inTransaction(client: pg.PoolClient, memory: string, statements: string[]): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL maintenance_work_mem = '${memory}'`);
    for (const sql of statements) await client.query(sql);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

const isDataFailure = (err: unknown) => err instanceof BulkLoadDataError;

/**
 * Runs `tasks` at most `parallel` at a time, and throws the first failure once those running have ended
 * (no connection is left busy). A data failure lets the other tasks go on; any other failure (a lost
 * connection, the step callback's throw) starts nothing more.
 */
async function runAll(tasks: (() => Promise<void>)[], parallel: number): Promise<void> {
  const errors: unknown[] = [];
  let next = 0;
  const lane = async () => {
    while (next < tasks.length && !errors.some((e) => !isDataFailure(e))) {
      const task = tasks[next++];
      await task().catch((err: unknown) => errors.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, tasks.length)) }, lane));
  if (errors.length) throw errors.find((e) => !isDataFailure(e)) ?? errors[0];
}

function foundOf(object: BulkObject, entry: CatalogEntry | undefined): BulkStep['found'] {
  if (isBuilt(object, entry)) return 'done';
  if (entry?.constraint) return 'not validated';
  if (entry?.index) return entry.index.valid ? 'valid index' : 'invalid index';
  return 'nothing';
}

/**
 * Rebuilds what prepare dropped, in the order: keys (CREATE UNIQUE INDEX, then ADD CONSTRAINT ... USING
 * INDEX), secondary indexes, foreign keys (ADD ... NOT VALID, then VALIDATE CONSTRAINT). Each step first
 * reads the catalog and skips what is done; an invalid index (an interrupted CONCURRENTLY build, by an
 * operator or a tool) is dropped and rebuilt. A failing step does not stop the independent ones, so as
 * much of the schema as the data allows is back; the record is closed only when everything is built.
 */
export async function finishBulkLoad(pool: pg.Pool, opts: FinishOptions = {}): Promise<FinishResult> {
  const memory = opts.maintenanceWorkMem ?? DEFAULT_MAINTENANCE_WORK_MEM;
  if (!MEMORY_SETTING_PATTERN.test(memory)) throw new Error(`maintenance_work_mem must look like 512MB, not ${JSON.stringify(memory)}`);
  const parallel = opts.parallel ?? 2;
  const pending = await pendingBulkLoad(pool);
  if (!pending) return { runId: null, steps: [] };
  const steps: BulkStep[] = [];
  const failures: unknown[] = [];

  const step = async (stage: BuildStage, object: BulkObject, build: (client: pg.PoolClient, found: BulkStep['found']) => Promise<void>) => {
    await opts.onStep?.({ stage, table: object.table, name: object.name, outcome: 'started' });
    const started = process.hrtime.bigint();
    let found: BulkStep['found'] = 'nothing';
    let outcome: BulkStep['outcome'] = 'failed';
    const record = () => {
      const done: BulkStep = {
        stage,
        table: object.table,
        name: object.name,
        outcome,
        found,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      };
      steps.push(done);
      return done;
    };
    try {
      await withClient(pool, async (client) => {
        found = foundOf(object, (await catalogOf(client, [object])).get(`${object.table}.${object.name}`));
        if (found === 'done') {
          outcome = 'skipped';
          return;
        }
        await build(client, found);
        outcome = 'built';
      });
    } catch (err) {
      record();
      throw dataError(object, err);
    }
    // Recorded first: optional chaining would skip evaluating the argument without a callback.
    const done = record();
    await opts.onStep?.(done);
  };

  const rebuildIndex = async (client: pg.PoolClient, object: BulkObject, found: BulkStep['found']) => {
    const statements = found === 'invalid index' ? [`DROP INDEX ${quoteIdent(object.name)}`] : [];
    if (found !== 'valid index') await inTransaction(client, memory, [...statements, object.indexDef!]);
  };
  const stage = async (tasks: (() => Promise<void>)[], parallelism: number) => {
    await runAll(tasks, parallelism).catch((err: unknown) => {
      // A data error leaves the other stages buildable; anything else (a lost connection, a cancel) stops here.
      if (!isDataFailure(err)) throw err;
      failures.push(err);
    });
  };

  const objects = pending.record.objects;
  const of = (kind: BulkObjectKind) => objects.filter((o) => o.kind === kind);
  await stage(
    of('key').map(
      (o) => () =>
        step('keys', o, async (client, found) => {
          await rebuildIndex(client, o, found);
          await client.query(
            `ALTER TABLE ${quoteIdent(o.table)} ADD CONSTRAINT ${quoteIdent(o.name)} ${o.keyType} USING INDEX ${quoteIdent(o.name)}`,
          );
        }),
    ),
    parallel,
  );
  await stage(
    of('index').map((o) => () => step('indexes', o, (client, found) => rebuildIndex(client, o, found))),
    parallel,
  );
  // NOT VALID first, so the check of the existing rows is VALIDATE's: it holds only SHARE UPDATE EXCLUSIVE on
  // its table and ROW SHARE on plan_versions, so the three run in parallel. Two ADDs wait for each other
  // (SHARE ROW EXCLUSIVE on plan_versions) but each is instant; each is its own transaction, so a crash
  // between ADD and VALIDATE leaves a NOT VALID key that the next finish validates.
  await stage(
    of('foreignKey').map(
      (o) => () =>
        step('foreignKeys', o, async (client, found) => {
          if (found === 'nothing')
            await client.query(`ALTER TABLE ${quoteIdent(o.table)} ADD CONSTRAINT ${quoteIdent(o.name)} ${o.constraintDef} NOT VALID`);
          await inTransaction(client, memory, [`ALTER TABLE ${quoteIdent(o.table)} VALIDATE CONSTRAINT ${quoteIdent(o.name)}`]);
        }),
    ),
    parallel,
  );
  if (failures.length) throw failures[0];

  const catalog = await catalogOf(pool, objects);
  const missing = objects.filter((o) => !isBuilt(o, catalog.get(`${o.table}.${o.name}`)));
  if (missing.length)
    throw new Error(`bulk load: still not built after finishing: ${missing.map((o) => `${o.table}.${o.name}`).join(', ')}`);
  await pool.query(
    `UPDATE plan_backfill_runs SET options = jsonb_set(options, '{bulkLoad,finishedAt}', to_jsonb(now())), updated_at = now() WHERE run_id = $1`,
    [pending.runId],
  );
  return { runId: pending.runId, steps };
}

export interface RepositoryCatalog {
  constraints: { table: string; name: string; type: string; definition: string; validated: boolean }[];
  indexes: { table: string; name: string; definition: string; valid: boolean; unique: boolean; primary: boolean }[];
  columns: { table: string; column: string; type: string; notNull: boolean; default: string | null }[];
}

/** The repository tables' constraints, indexes and columns, sorted: what the bulk path must leave as the migrations made it. */
export async function repositoryCatalog(db: Queryable): Promise<RepositoryCatalog> {
  const tables = [...REPOSITORY_TABLES];
  const [constraints, indexes, columns] = await Promise.all([
    db.query(
      `SELECT t.relname AS "table", c.conname AS name, c.contype::text AS type, pg_get_constraintdef(c.oid) AS definition, c.convalidated AS validated
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
        WHERE t.relnamespace = 'public'::regnamespace AND t.relname = ANY($1::text[]) ORDER BY 1, 2`,
      [tables],
    ),
    db.query(
      `SELECT t.relname AS "table", i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition, x.indisvalid AS valid, x.indisunique AS unique, x.indisprimary AS primary
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relnamespace = 'public'::regnamespace AND t.relname = ANY($1::text[]) ORDER BY 1, 2`,
      [tables],
    ),
    db.query(
      `SELECT t.relname AS "table", a.attname AS "column", format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "notNull",
              pg_get_expr(d.adbin, d.adrelid) AS "default"
         FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE t.relnamespace = 'public'::regnamespace AND t.relname = ANY($1::text[]) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, a.attnum`,
      [tables],
    ),
  ]);
  return { constraints: constraints.rows, indexes: indexes.rows, columns: columns.rows };
}
