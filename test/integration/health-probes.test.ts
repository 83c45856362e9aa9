/** The throttle's probes (db/health-probes.ts) read what other sessions do on a real PostgreSQL. */
import pg from 'pg';
import { readHealth } from '../../db/health-probes';
import type { ThrottleSettings } from '../../model/throttle';
import { seededDatabase, waitFor } from '../support/backfill';
import { TestDatabase } from '../support/database';

const SETTINGS: ThrottleSettings = {
  maxLockWaits: 0,
  maxTransactionSeconds: 0,
  autovacuum: true,
  maxReplicationLagSeconds: null,
  maxReplicationLagBytes: null,
  query: 'SELECT 0.5',
  initialWaitMs: 1_000,
  maxWaitMs: 30_000,
};

describe('health probes', () => {
  let db: TestDatabase;
  let holder: pg.Client;
  let waiter: pg.Client;

  beforeAll(async () => {
    db = await seededDatabase({ plans: 1, versions: 1, series: 1, bad: 0, seed: 1 });
    holder = new pg.Client({ connectionString: db.url });
    waiter = new pg.Client({ connectionString: db.url });
    await Promise.all([holder.connect(), waiter.connect()]);
  });
  afterAll(async () => {
    await holder?.end();
    await waiter?.end();
    await db?.drop();
  });

  test('a quiet database: no lock waits, no open transaction but the probe’s, no vacuum; the query’s number', async () => {
    expect(await readHealth(db.pool, { settings: SETTINGS })).toEqual({
      lockWaits: 0,
      oldestTransactionSeconds: null,
      autovacuums: 0,
      queryValue: 0.5,
    });
  });

  test('a session waiting for a lock on a repository table, behind an open transaction', async () => {
    await holder.query(`BEGIN; LOCK TABLE plan_series IN ACCESS EXCLUSIVE MODE`);
    const blocked = waiter.query(`SELECT count(*) FROM plan_series`);
    try {
      const health = await waitFor(
        async () => {
          const h = await readHealth(db.pool, { settings: SETTINGS });
          return h.lockWaits === 1 && h;
        },
        10_000,
        'the lock wait',
      );
      expect(health.oldestTransactionSeconds).toBeGreaterThan(0);
    } finally {
      await holder.query(`ROLLBACK`);
      await blocked;
    }
    expect(await readHealth(db.pool, { settings: SETTINGS })).toEqual(
      expect.objectContaining({ lockWaits: 0, oldestTransactionSeconds: null }),
    );
  });

  test('probes that are off read nothing; a throttle query must return a number', async () => {
    const off = { ...SETTINGS, maxLockWaits: null, maxTransactionSeconds: null, autovacuum: false, query: null };
    expect(await readHealth(db.pool, { settings: off })).toEqual({});
    await expect(readHealth(db.pool, { settings: { ...off, query: `SELECT 'busy'` } })).rejects.toThrow(
      'backfill.throttle.query must return one number (a value > 0 means wait)',
    );
  });
});
