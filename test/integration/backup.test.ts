/**
 * Backup and restore activities against the real test server and Debian's pg_dump/pg_restore, called
 * directly (no Temporal: the heartbeat helper is a no-op outside an activity). The S3 upload goes to
 * moto's S3-compatible server on 127.0.0.1 (runtime/moto.ts: the pinned moto in .tools/moto, installed
 * there first when missing, as `npm run setup:moto` does).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import pg from 'pg';
import pino from 'pino';
import { BackupDone, createBackupActivities } from '../../activities/backup';
import { createBackfillActivities } from '../../activities/backfill';
import { createRestoreActivities } from '../../activities/restore';
import type { WorkerActivityDeps } from '../../activities/deps';
import { getBackup } from '../../db/backups';
import { createPool } from '../../db/connection';
import { locatePgTools } from '../../db/pg-tools';
import { DatabaseRegistry } from '../../db/registry';
import { RunningMoto, startMoto } from '../../runtime/moto';
import { refreshRepositoryRows } from '../../activities/capacity';
import { createMetrics } from '../../metrics/registry';
import { noTemporalLiveness } from '../support/activities';
import { seededDatabase } from '../support/backfill';
import { testConfig } from '../support/config';
import { TestDatabase } from '../support/database';
import { repositoryDigest } from '../support/repository';

const DEMO = { plans: 4, versions: 3, series: 6, bad: 2, seed: 5 };
const URL_VAR = 'PLANDB_T_BACKUP_URL';
const REPOSITORY_TABLES = ['public.plan_events', 'public.plan_kpis', 'public.plan_series', 'public.plan_versions', 'public.plans'];

type BackupActivities = ReturnType<typeof createBackupActivities> & ReturnType<typeof createRestoreActivities>;

/** Fills the repository with the real backfill activities (one run, to the end). */
async function backfill(deps: WorkerActivityDeps): Promise<void> {
  const activities = createBackfillActivities(deps);
  const runId = `backup-test-${randomBytes(3).toString('hex')}`;
  await activities.startBackfillRun({
    environment: 'dev',
    runId,
    workflowId: 'test',
    mode: 'normal',
    limit: null,
    resumeFrom: null,
    options: {},
  });
  let chunk;
  do {
    chunk = await activities.backfillChunk({ environment: 'dev', runId, batchSize: 5, maxErrors: 100, timeBudgetMs: 60_000 });
  } while (chunk.stop === null);
  await activities.setBackfillRunStatus({ environment: 'dev', runId, status: 'completed' });
}

async function tableDigest(pool: pg.Pool, table: string, order: string): Promise<string> {
  const res = await pool.query(
    `SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY ${order})), '') AS d FROM ${table} t`,
  );
  return res.rows[0].d;
}

/** Columns, constraints and indexes of the repository tables: what "definitions" means for a restore. */
async function repositorySchema(pool: pg.Pool): Promise<string[]> {
  const res = await pool.query<{ d: string }>(
    `SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable AS d
       FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ANY($1)
     UNION ALL SELECT 'constraint ' || conrelid::regclass || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
      WHERE conrelid::regclass::text = ANY($1)
     UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY($1)
     ORDER BY 1`,
    [REPOSITORY_TABLES.map((t) => t.replace('public.', ''))],
  );
  return res.rows.map((r) => r.d);
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

function writeScript(dir: string, name: string, body: string): void {
  fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
}

describe('backup and restore activities', () => {
  let db: TestDatabase;
  let backupDir: string;
  let scratchDirs: string[] = [];
  const registries: DatabaseRegistry[] = [];
  const baseEnv = (): NodeJS.ProcessEnv => ({ ...process.env, PLANDB_PG_BIN_DIR: undefined, [URL_VAR]: db.url });

  /** Activities over an environment "dev" whose backup settings are `backup`. */
  function activitiesFor(
    backup: Record<string, unknown>,
    extraEnv: NodeJS.ProcessEnv = {},
  ): { activities: BackupActivities; deps: WorkerActivityDeps } {
    const config = testConfig({ dev: { databaseUrlEnv: URL_VAR, backup: { dir: backupDir, ...backup } } });
    const env = { ...baseEnv(), ...extraEnv };
    const databases = new DatabaseRegistry(config, env);
    registries.push(databases);
    const deps: WorkerActivityDeps = {
      config,
      databases,
      metrics: createMetrics(),
      logger: pino({ level: 'silent' }),
      env: process.env,
      workflowLiveness: noTemporalLiveness,
    };
    return { activities: { ...createBackupActivities(deps, env), ...createRestoreActivities(deps, env) }, deps };
  }

  function tempDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    scratchDirs.push(dir);
    return dir;
  }

  let main: BackupActivities;
  let mainDeps: WorkerActivityDeps;

  async function takeBackup(activities = main): Promise<BackupDone> {
    const result = await activities.backup({ environment: 'dev', workflowId: 'wf-backup-test' });
    if (result.skipped) throw new Error(`backup skipped: ${result.reason}`);
    return result;
  }

  beforeAll(async () => {
    db = await seededDatabase(DEMO);
    backupDir = path.join(tempDir('plandb-backups-'), 'dev');
    const made = activitiesFor({});
    main = made.activities;
    mainDeps = made.deps;
    await backfill(made.deps);
  });

  afterAll(async () => {
    for (const registry of registries) await registry.close();
    await db?.drop();
    for (const dir of scratchDirs) fs.rmSync(dir, { recursive: true, force: true });
    scratchDirs = [];
  });

  test('backup: a 0600 dump in a 0700 directory, its sha256 and size in plan_db_backups, verified by pg_restore --list', async () => {
    const result = await takeBackup();
    expect(path.dirname(result.location)).toBe(backupDir);
    expect(path.basename(result.location)).toMatch(/^plan_db_dev_\d{8}T\d{6}Z\.dump$/);
    expect(fs.statSync(backupDir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(result.location).mode & 0o777).toBe(0o600);
    const sha256 = createHash('sha256').update(fs.readFileSync(result.location)).digest('hex');
    expect(result).toEqual(
      expect.objectContaining({
        skipped: false,
        environment: 'dev',
        sha256,
        bytes: fs.statSync(result.location).size,
        format: 'custom',
        verified: true,
        s3Uri: null,
      }),
    );
    expect(result.tocEntries).toBeGreaterThan(20);
    expect(result.pgDumpVersion).toMatch(/^\d+\.\d+/);
    const row = await getBackup(db.pool, result.backupId!);
    expect(row).toEqual(
      expect.objectContaining({
        environment: 'dev',
        location: result.location,
        sha256,
        bytes: result.bytes,
        verified: true,
        workflowId: 'wf-backup-test',
        serverVersion: result.serverVersion,
        pgDumpVersion: result.pgDumpVersion,
        finishedAt: result.finishedAt,
      }),
    );
    const { id, ...rest } = row!;
    expect(await main.latestBackup({ environment: 'dev' })).toEqual({ backupId: id, ...rest });
    // Nothing half-written is left next to it.
    expect(fs.readdirSync(backupDir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  test('pg_dump and pg_restore get the connection through PG* variables, never on their command line', async () => {
    const real = locatePgTools(baseEnv());
    const wrappers = tempDir('plandb-pgwrap-');
    for (const [tool, target] of [
      ['pg_dump', real.pgDump],
      ['pg_restore', real.pgRestore],
    ]) {
      writeScript(
        wrappers,
        tool,
        `printf '%s | %s\\n' "$*" "$(env | grep '^PG' | cut -d= -f1 | sort | tr '\\n' ' ')" >> "$(dirname "$0")/calls.log"\nexec "${target}" "$@"`,
      );
    }
    const { activities } = activitiesFor({}, { PLANDB_PG_BIN_DIR: wrappers });
    const result = await takeBackup(activities);
    const restored = await activities.restoreBackup({ environment: 'dev', backupId: result.backupId!, mode: 'scratch' });
    await activities.dropScratchDatabase({ environment: 'dev', database: restored.database });

    const calls = fs.readFileSync(path.join(wrappers, 'calls.log'), 'utf8').trim().split('\n');
    const args = calls.map((c) => c.split(' | ')[0]);
    expect(args).toEqual([
      '--version',
      expect.stringMatching(/^--format=custom --file=\S+\.partial$/),
      expect.stringMatching(/^--list --verbose \S+\.partial$/),
      `--list --verbose ${result.location}`,
      `--no-owner --exit-on-error --dbname=${restored.database} ${result.location}`,
    ]);
    const password = decodeURIComponent(new URL(db.url).password);
    for (const line of args) {
      expect(line).not.toContain('://');
      if (password) expect(line).not.toContain(password);
    }
    // The tools that connect got the connection from the environment; the others did too, harmlessly.
    for (const index of [1, 4]) expect(calls[index].split(' | ')[1]).toMatch(/PGDATABASE PGHOST PGPASSWORD PGPORT PGUSER/);
  });

  test('a pg_dump older than the server fails before dumping, non-retryable, naming both versions and the fix', async () => {
    // Stands in for a third-party pg_dump 14 binary that cannot be installed here; records how it is called.
    const stubs = tempDir('plandb-pgstub-');
    for (const tool of ['pg_dump', 'pg_restore']) {
      writeScript(stubs, tool, `echo "$*" >> "$(dirname "$0")/calls.log"\necho "${tool} (PostgreSQL) 14.11"`);
    }
    const rowsBefore = (await db.pool.query('SELECT count(*)::int AS n FROM plan_db_backups')).rows[0].n;
    const filesBefore = fs.readdirSync(backupDir);
    const { activities } = activitiesFor({}, { PLANDB_PG_BIN_DIR: stubs });

    const failure = await failureOf(activities.backup({ environment: 'dev' }));
    const server = (await db.pool.query(`SELECT current_setting('server_version_num')::int AS n`)).rows[0].n as number;
    const major = Math.floor(server / 10_000);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('PgDumpTooOld');
    expect(failure.message).toContain(
      `pg_dump 14.11 (${path.join(stubs, 'pg_dump')}) cannot back up the PostgreSQL ${major}.${server % 10_000} server`,
    );
    expect(failure.message).toContain(`apt-get install -y postgresql-client-${major}`);
    expect(failure.message).toContain('PLANDB_PG_BIN_DIR');
    expect(fs.readFileSync(path.join(stubs, 'calls.log'), 'utf8')).toBe('--version\n');
    expect((await db.pool.query('SELECT count(*)::int AS n FROM plan_db_backups')).rows[0].n).toBe(rowsBefore);
    expect(fs.readdirSync(backupDir)).toEqual(filesBefore);
  });

  test('restore into a scratch database: the same legacy and repository rows; then the drill database is dropped', async () => {
    const result = await takeBackup();
    const restored = await main.restoreBackup({ environment: 'dev', mode: 'scratch' });
    expect(restored).toEqual(expect.objectContaining({ backupId: result.backupId, location: result.location, mode: 'scratch' }));
    expect(restored.database).toMatch(/^plandb_drill_dev_\d{8}t\d{6}z$/);
    expect(restored.tablesRestored).toEqual(
      expect.arrayContaining([...REPOSITORY_TABLES, 'public.plan_artifacts', 'public.plan_backfill_runs']),
    );

    const url = new URL(db.url);
    url.pathname = `/${restored.database}`;
    const scratch = createPool(url.toString());
    try {
      expect(await tableDigest(scratch, 'plan_artifacts', 'id')).toBe(await tableDigest(db.pool, 'plan_artifacts', 'id'));
      expect(await repositoryDigest(scratch)).toEqual(await repositoryDigest(db.pool));
      expect((await repositoryDigest(scratch)).plan_series).toBeGreaterThan(0);
    } finally {
      await scratch.end();
    }

    // A retry into the same named database replaces what the earlier attempt left.
    const named = `plandb_drill_dev_retry_${randomBytes(3).toString('hex')}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      expect((await main.restoreBackup({ environment: 'dev', mode: 'scratch', targetDatabase: named })).database).toBe(named);
    }
    await main.dropScratchDatabase({ environment: 'dev', database: named });

    expect(await main.dropScratchDatabase({ environment: 'dev', database: restored.database })).toEqual({
      environment: 'dev',
      database: restored.database,
      dropped: true,
    });
    expect((await db.pool.query('SELECT 1 FROM pg_database WHERE datname = $1', [restored.database])).rowCount).toBe(0);
  });

  test('scratch restores and drops touch only plandb_drill_* databases', async () => {
    for (const database of [db.name, 'postgres', 'plandb_drill_x"; DROP DATABASE postgres; --']) {
      const failure = await failureOf(main.dropScratchDatabase({ environment: 'dev', database }));
      expect([failure.type, failure.nonRetryable]).toEqual(['NotAScratchDatabase', true]);
      const restore = await failureOf(main.restoreBackup({ environment: 'dev', mode: 'scratch', targetDatabase: database }));
      expect([restore.type, restore.nonRetryable]).toEqual(['InvalidScratchDatabase', true]);
    }
    expect((await db.pool.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.name])).rowCount).toBe(1);
  });

  test('restore of the repository: altered and deleted rows and definitions come back; legacy and operations tables are untouched', async () => {
    const digestAtBackup = await repositoryDigest(db.pool);
    const schemaAtBackup = await repositorySchema(db.pool);
    const plansAtBackup = (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM plans`)).rows[0].n;
    const backup = await takeBackup();

    // After the backup: the repository goes wrong, while the application and later runs keep writing.
    await db.pool.query(`DELETE FROM plans WHERE plan_id = (SELECT min(plan_id) FROM plans)`);
    await db.pool.query(`UPDATE plan_series SET value = value + 1`);
    await db.pool.query(`UPDATE plan_versions SET run_id = 'tampered'`);
    await db.pool.query(`ALTER TABLE plans ADD COLUMN junk text`);
    await db.pool.query(`CREATE INDEX plan_series_value_idx ON plan_series (value)`);
    await db.pool.query(
      `INSERT INTO plan_backfill_runs (run_id, environment, mode, status) VALUES ('run-after-backup', 'dev', 'normal', 'failed')`,
    );
    await db.pool.query(`INSERT INTO plan_artifacts (plan_id, version, payload) VALUES ('late-plan', 1, '{"series": []}')`);
    const legacyNow = await tableDigest(db.pool, 'plan_artifacts', 'id');
    const runsNow = await tableDigest(db.pool, 'plan_backfill_runs', 'run_id');
    expect(await repositoryDigest(db.pool)).not.toEqual(digestAtBackup);
    const rowsGauge = async () => (await mainDeps.metrics.repositoryRows.get()).values.find((v) => v.labels.table === 'plans')?.value;
    // The gauge shows the damage (one plan deleted) before the restore.
    await refreshRepositoryRows(mainDeps, 'dev');
    expect(await rowsGauge()).toBe(plansAtBackup - 1);

    const restored = await main.restoreBackup({ environment: 'dev', mode: 'repository', backupId: backup.backupId! });
    // plan_repository_rows is counted again after the restore.
    expect(await rowsGauge()).toBe(plansAtBackup);
    expect(restored).toEqual(expect.objectContaining({ backupId: backup.backupId, mode: 'repository', database: db.name }));
    expect([...restored.tablesRestored].sort()).toEqual(REPOSITORY_TABLES);

    expect(await repositoryDigest(db.pool)).toEqual(digestAtBackup);
    expect(await repositorySchema(db.pool)).toEqual(schemaAtBackup);
    expect(await tableDigest(db.pool, 'plan_artifacts', 'id')).toBe(legacyNow);
    expect(await tableDigest(db.pool, 'plan_backfill_runs', 'run_id')).toBe(runsNow);
    expect((await db.pool.query(`SELECT status FROM plan_backfill_runs WHERE run_id = 'run-after-backup'`)).rows).toEqual([
      { status: 'failed' },
    ]);
  });

  test('a dump that changed since it was taken, or is gone, is refused (non-retryable) and nothing is restored', async () => {
    const backup = await takeBackup();
    const drillsBefore = (await db.pool.query(`SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'plandb_drill_%'`)).rows[0].n;
    fs.appendFileSync(backup.location, Buffer.from([0]));
    for (const mode of ['scratch', 'repository'] as const) {
      const failure = await failureOf(main.restoreBackup({ environment: 'dev', backupId: backup.backupId!, mode }));
      expect([failure.type, failure.nonRetryable]).toEqual(['BackupChecksumMismatch', true]);
      expect(failure.message).toContain(backup.sha256);
    }
    fs.rmSync(backup.location);
    const missing = await failureOf(main.restoreBackup({ environment: 'dev', backupId: backup.backupId!, mode: 'scratch' }));
    expect([missing.type, missing.nonRetryable]).toEqual(['BackupFileMissing', true]);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'plandb_drill_%'`)).rows[0].n).toBe(
      drillsBefore,
    );

    const unknown = await failureOf(main.restoreBackup({ environment: 'dev', backupId: 999_999, mode: 'scratch' }));
    expect([unknown.type, unknown.nonRetryable]).toEqual(['NoBackup', true]);
  });

  test('backups disabled in config: skipped with the reason, nothing written', async () => {
    const { activities } = activitiesFor({ enabled: false });
    expect(await activities.backup({ environment: 'dev' })).toEqual({
      skipped: true,
      environment: 'dev',
      reason: 'backups are disabled (environments.dev.backup.enabled is false)',
    });
  });

  describe('upload to S3-compatible storage (moto server on 127.0.0.1)', () => {
    const BUCKET = 'plandb-backups';
    const keyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const secret = `secret-${randomBytes(16).toString('hex')}`;
    let moto: RunningMoto;
    let endpoint: string;
    const s3Env = (): NodeJS.ProcessEnv => ({
      PLANDB_T_S3_ENDPOINT: endpoint,
      PLANDB_T_S3_REGION: 'eu-west-3',
      PLANDB_T_S3_KEY: keyId,
      PLANDB_T_S3_SECRET: secret,
    });
    const s3Backup = (s3Uri: string) => ({
      s3Uri,
      s3EndpointEnv: 'PLANDB_T_S3_ENDPOINT',
      s3RegionEnv: 'PLANDB_T_S3_REGION',
      s3AccessKeyIdEnv: 'PLANDB_T_S3_KEY',
      s3SecretAccessKeyEnv: 'PLANDB_T_S3_SECRET',
    });
    let client: S3Client;

    beforeAll(async () => {
      moto = await startMoto();
      endpoint = moto.endpoint;
      client = new S3Client({
        endpoint,
        region: 'eu-west-3',
        forcePathStyle: true,
        credentials: { accessKeyId: keyId, secretAccessKey: secret },
      });
      await client.send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: 'eu-west-3' } }));
    });

    afterAll(async () => {
      client?.destroy();
      await moto?.stop();
    });

    test('the dump and its .sha256 sidecar are stored with the right size and content; no secret in the result', async () => {
      const { activities } = activitiesFor(s3Backup(`s3://${BUCKET}/dev/nightly/`), s3Env());
      const result = await takeBackup(activities);
      const name = path.basename(result.location);
      expect(result.s3Uri).toBe(`s3://${BUCKET}/dev/nightly/${name}`);
      expect(result.location).toMatch(/^\//);

      const key = `dev/nightly/${name}`;
      const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(head.ContentLength).toBe(result.bytes);
      expect(head.Metadata).toEqual({ sha256: result.sha256 });
      const body = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
      expect(createHash('sha256').update(body).digest('hex')).toBe(result.sha256);
      const sidecar = await (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${key}.sha256` }))).Body!.transformToString();
      expect(sidecar).toBe(`${result.sha256}  ${name}\n`);

      const serialized = JSON.stringify(result);
      expect(serialized).not.toContain(secret);
      expect(serialized).not.toContain(keyId);
    });

    test('a failed upload fails the backup without leaking a secret, and leaves no dump file and an unverified row', async () => {
      const { activities } = activitiesFor(s3Backup('s3://plandb-no-such-bucket/dev'), s3Env());
      const filesBefore = fs.readdirSync(backupDir).sort();
      const err = (await activities.backup({ environment: 'dev' }).then(
        () => null,
        (e: unknown) => e,
      )) as Error;
      expect(err?.message).toMatch(
        /upload of the backup to s3:\/\/plandb-no-such-bucket\/dev\/plan_db_dev_\d{8}T\d{6}Z\.dump failed: .*NoSuchBucket/,
      );
      expect(err.message).not.toContain(secret);
      expect(err.message).not.toContain(keyId);
      expect(fs.readdirSync(backupDir).sort()).toEqual(filesBefore);
      const last = (await db.pool.query(`SELECT verified, sha256, finished_at FROM plan_db_backups ORDER BY id DESC LIMIT 1`)).rows[0];
      expect(last).toEqual({ verified: false, sha256: null, finished_at: expect.any(Date) });
    });

    test('a named S3 variable that is not set is a config error naming the variable, before anything is dumped', async () => {
      const { activities } = activitiesFor(s3Backup(`s3://${BUCKET}/dev`), { ...s3Env(), PLANDB_T_S3_SECRET: '' });
      const filesBefore = fs.readdirSync(backupDir).sort();
      await expect(activities.backup({ environment: 'dev' })).rejects.toThrow(
        'environments.dev.backup.s3SecretAccessKeyEnv: environment variable PLANDB_T_S3_SECRET is not set',
      );
      expect(fs.readdirSync(backupDir).sort()).toEqual(filesBefore);
    });
  });
});
