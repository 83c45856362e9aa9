/**
 * Catch-up passes (issue 11): a Staging-like backfill (no maintenance) while the application, played by the
 * load generator, inserts new versions and rewrites some payloads in place throughout. Each pass extends the
 * run over what was appended meanwhile; at the end nothing up to the last pass's end is missing, and after
 * the writes stop and one more run, the repository equals the legacy table except for the versions rewritten
 * in place (those are the online cut-over's delta, not catch-up's).
 */
import { WorkflowFailedError } from '@temporalio/client';
import pg from 'pg';
import { runBatch } from '../../db/backfill-batch';
import { createShardedRun } from '../../db/backfill-shards';
import { getRun } from '../../db/backfill-runs';
import { beginCatchUpPass } from '../../db/catch-up';
import { generatePayload, mulberry32 } from '../../transform/demo-payloads';
import { bulkLoadState } from '../../db/bulk-load';
import { listShards } from '../../db/backfill-shards';
import { verifyRepository } from '../../db/verification';
import { progressQuery, type BackfillResult } from '../../workflows/definitions';
import { expectShardsMatchCommittedData, latestRun, seededDatabase, startBackfill, waitFor } from '../support/backfill';
import { testConfig } from '../support/config';
import type { TestDatabase } from '../support/database';
import { missingUpTo, startApplicationWrites, type LoadGeneratorCounts } from '../support/load-generator';
import { createTemporalHarness, type TemporalHarness } from '../support/temporal';

const DEMO = { plans: 40, versions: 10, series: 20, seed: 5 };
const URL_ENV = 'PLANDB_T_CATCH_UP_URL';

describe('backfill catch-up passes with the application writing', () => {
  let db: TestDatabase;
  let harness: TemporalHarness;

  beforeEach(async () => {
    db = await seededDatabase(DEMO);
    harness = await createTemporalHarness(
      testConfig({ staging: { databaseUrlEnv: URL_ENV, maintenance: { mode: 'none' }, backfill: { shards: 2 } } }),
      { [URL_ENV]: db.url },
    );
  });

  afterEach(async () => {
    await harness.close();
    await db.drop();
  });

  /** The versions the generator rewrote in place, as the verify names them. */
  async function rewritten(counts: LoadGeneratorCounts): Promise<Set<string>> {
    const res = await db.pool.query<{ key: string }>(
      `SELECT plan_id || ' v' || version AS key FROM plan_artifacts WHERE id = ANY($1::int8[])`,
      [counts.updatedIds],
    );
    return new Set(res.rows.map((r) => r.key));
  }

  test('passes follow the inserts; nothing up to the last pass is missing; a final run leaves only in-place updates', async () => {
    // Three sessions, as several application servers: an id taken earlier may commit after a later one.
    const generator = await startApplicationWrites(db, { rate: 40, updateFraction: 0.1, seed: 3, connections: 3 });
    let counts: LoadGeneratorCounts;
    let result: BackfillResult;
    try {
      result = await harness.run(async () => {
        const handle = await startBackfill(harness, {
          environment: 'staging',
          batchSize: 5,
          chunkBudgetMs: 300,
          catchUp: { maxPasses: 3, untilRows: 1, untilSeconds: 0 },
        });
        const r = (await handle.result()) as BackfillResult;
        // The passes are in `progress` (the query), the UI's Current Details and the run row.
        expect((await handle.query(progressQuery)).catchUp).toEqual(r.catchUp);
        const meta = (await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
        expect(meta.currentDetails).toContain('catch-up: ');
        expect(meta.currentDetails).toContain('- pass 1: ids (');
        return r;
      });
    } finally {
      counts = await generator.stop();
    }
    expect(result.status).toBe('completed');
    // Staging with the application connected: the per-batch path (the bulk path needs no other writer).
    expect(result.bulkLoad?.chosen).toBe(false);
    expect(counts.insertedIds.length).toBeGreaterThan(0);

    const run = (await getRun(db.pool, result.runId!))!;
    const passes = run.catchUp!.passes;
    expect(passes.length).toBeGreaterThanOrEqual(1);
    expect(run.catchUpPass).toBe(passes.length);
    expect(result.catchUp).toEqual({ pass: passes.length, passes, ended: run.catchUp!.ended });
    expect(['pass-limit', 'under-rows', 'caught-up']).toContain(run.catchUp!.ended!.reason);
    // Each pass starts where the previous range ended; the run's end is the last pass's.
    passes.forEach((p, i) => {
      expect(p).toEqual(expect.objectContaining({ pass: i + 1, finishedAt: expect.any(String), artifactsRead: p.artifacts }));
      if (i > 0) expect(p.afterId).toBe(passes[i - 1].upToId);
      expect(p.upToId).toBeGreaterThan(p.afterId);
    });
    const last = passes.at(-1)!;
    expect(run.upToId).toBe(last.upToId);
    expect(run.cursor).toBe(last.upToId);
    // Every artifact that existed when the last pass started is in the repository.
    expect(await missingUpTo(db, last.upToId)).toEqual([]);
    // The run row's counters are still the exact sums of its shards, catch-up shards included.
    const shards = await listShards(db.pool, run.runId);
    expect(shards.length).toBe(2 + passes.reduce((n, p) => n + p.shards, 0));
    await expectShardsMatchCommittedData(db, run.runId);
    const legacy = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM plan_artifacts WHERE id <= $1`, [last.upToId]);
    expect({ read: run.artifactsRead, total: run.artifactsTotal }).toEqual({ read: legacy.rows[0].n, total: legacy.rows[0].n });

    // The application stopped: one more run from where this one ended takes the rest.
    const final = await harness.run(async () => (await startBackfill(harness, { environment: 'staging', resumeFrom: run.runId })).result());
    expect((final as BackfillResult).status).toBe('completed');
    const max = await db.pool.query<{ max: string }>(`SELECT max(id) AS max FROM plan_artifacts`);
    expect(await missingUpTo(db, Number(max.rows[0].max))).toEqual([]);

    const report = await verifyRepository(db.pool);
    expect({ missing: report.missingInRepository, extra: report.extraInRepository, inconsistent: report.plansInconsistent }).toEqual({
      missing: 0,
      extra: 0,
      inconsistent: 0,
    });
    // Catch-up reads only new ids: a payload rewritten in place after its version was written stays stale.
    const stale = await rewritten(counts);
    expect(report.mismatches).toBeLessThanOrEqual(stale.size);
    for (const m of report.firstMismatches) expect(stale).toContain(`${m.planId} v${m.version}`);
  });

  test('a cancel during a catch-up pass closes the run cancelled with its reason; its counters stay exact', async () => {
    const generator = await startApplicationWrites(db, { rate: 100, series: 2, seed: 9 });
    try {
      await harness.run(async () => {
        const handle = await startBackfill(harness, {
          environment: 'staging',
          batchSize: 4,
          catchUp: { maxPasses: 5, untilRows: 1, untilSeconds: 0 },
        });
        const inPass = await waitFor(
          async () => {
            const r = await latestRun(db);
            return r?.status === 'running' && (r.catchUpPass ?? 0) >= 1 ? r : null;
          },
          120_000,
          'a catch-up pass',
        );
        await handle.cancel();
        await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
        const closed = await waitFor(
          async () => {
            const r = (await getRun(db.pool, inPass.runId))!;
            return r.status !== 'running' ? r : null;
          },
          30_000,
          'the run to close',
        );
        expect(closed).toEqual(expect.objectContaining({ status: 'cancelled', closedReason: 'workflow cancelled' }));
        expect(closed.catchUp!.passes.length).toBeGreaterThanOrEqual(1);
        expect(closed.catchUp!.passes[0].afterId).toBeGreaterThan(0);
        await expectShardsMatchCommittedData(db, closed.runId);
      });
    } finally {
      await generator.stop();
    }
  });

  test('a first load on the bulk path builds its keys before the first catch-up pass', async () => {
    let counts: LoadGeneratorCounts | null = null;
    const result = await harness.run(async () => {
      const handle = await startBackfill(harness, {
        environment: 'staging',
        batchSize: 5,
        chunkBudgetMs: 300,
        catchUp: { maxPasses: 1, untilRows: 0, untilSeconds: 0 },
      });
      // The bulk path is chosen while no application session is connected; then the application writes.
      // `chosen` turns true once prepared (the keys dropped), a moment after the reason is known.
      await waitFor(async () => (await handle.query(progressQuery)).bulkLoad?.chosen, 60_000, 'the bulk path to be prepared');
      const generator = await startApplicationWrites(db, { rate: 40, seed: 4 });
      try {
        return (await handle.result()) as BackfillResult;
      } finally {
        counts = await generator.stop();
      }
    });
    expect(result.status).toBe('completed');
    expect(counts!.insertedIds.length).toBeGreaterThan(0);
    const run = (await getRun(db.pool, result.runId!))!;
    const [pass] = run.catchUp!.passes;
    expect(run.catchUp!.passes).toHaveLength(1);
    expect(run.catchUp!.ended!.reason).toBe('pass-limit');
    const bulk = run.options.bulkLoad as { finishedAt: string };
    expect(Date.parse(bulk.finishedAt)).toBeLessThanOrEqual(Date.parse(pass.startedAt));
    expect(await bulkLoadState(db.pool)).toBe('none');
    expect(await missingUpTo(db, pass.upToId)).toEqual([]);
    await expectShardsMatchCommittedData(db, run.runId);
  });

  test('continue-as-new in the middle of the passes carries them on: every pass completes, the sums stay exact', async () => {
    const generator = await startApplicationWrites(db, { rate: 40, seed: 6 });
    let result: BackfillResult;
    try {
      result = await harness.run(async () => {
        const handle = await startBackfill(harness, {
          environment: 'staging',
          batchSize: 5,
          chunkBudgetMs: 200,
          continueAsNewAfterChunks: 3,
          catchUp: { maxPasses: 2, untilRows: 0, untilSeconds: 0 },
        });
        return (await handle.result()) as BackfillResult;
      });
    } finally {
      await generator.stop();
    }
    expect(result.status).toBe('completed');
    expect(result.continuedAsNew).toBeGreaterThan(0);
    const run = (await getRun(db.pool, result.runId!))!;
    expect(run.catchUpPass).toBe(2);
    expect(run.catchUp!.passes.map((p) => [p.pass, p.artifactsRead === p.artifacts])).toEqual([
      [1, true],
      [2, true],
    ]);
    expect(run.catchUp!.ended!.reason).toBe('pass-limit');
    // The last execution shows the last pass's shards only (the earlier ones are done).
    expect(result.shards!.every((s) => s.shard >= run.catchUp!.passes[1].firstShard && s.done)).toBe(true);
    expect(await missingUpTo(db, run.upToId)).toEqual([]);
    await expectShardsMatchCommittedData(db, run.runId);
  });

  describe('an application write still open below the range end is waited for, not skipped', () => {
    const doc = JSON.stringify(generatePayload(mulberry32(9), { series: 3, legacyFormat: false }));
    let app: pg.Client;

    /** An insert left open (its id below the next one), and a later insert that commits first: the table's end. */
    async function openWrite(version: number): Promise<{ held: number; end: number }> {
      await app.query('BEGIN');
      const held = await app.query(`INSERT INTO plan_artifacts (plan_id, version, payload) VALUES ('plan-00001', $1, $2) RETURNING id`, [
        version,
        doc,
      ]);
      const end = await db.pool.query(`INSERT INTO plan_artifacts (plan_id, version, payload) VALUES ('plan-00002', $1, $2) RETURNING id`, [
        version,
        doc,
      ]);
      return { held: Number(held.rows[0].id), end: Number(end.rows[0].id) };
    }

    /** Commits the open write a moment later; resolves to the commit's time (the server's clock). */
    const commitSoon = () =>
      new Promise<number>((resolve, reject) =>
        setTimeout(() => {
          app
            .query('SELECT clock_timestamp() AS t')
            .then(async (r) => {
              await app.query('COMMIT');
              resolve((r.rows[0].t as Date).getTime());
            })
            .catch(reject);
        }, 1000),
      );

    beforeEach(async () => {
      app = new pg.Client({ connectionString: db.url, application_name: 'plans-api' });
      await app.connect();
    });

    afterEach(async () => {
      await app.end();
    });

    test('the first range: the run starts once the write commits, and writes it', async () => {
      const { held, end } = await openWrite(100);
      const committedAt = commitSoon();
      const result = await harness.run(async () =>
        (await startBackfill(harness, { environment: 'staging', catchUp: { enabled: false } })).result(),
      );
      const run = (await getRun(db.pool, (result as BackfillResult).runId!))!;
      expect(run.upToId).toBe(end);
      expect(Date.parse(run.startedAt)).toBeGreaterThanOrEqual(await committedAt);
      expect(held).toBeLessThan(end);
      expect(await missingUpTo(db, end)).toEqual([]);
    });

    test('a catch-up pass: it starts once the write commits, and its shard writes it', async () => {
      const before = await db.pool.query(`SELECT max(id) AS max, count(*)::int AS n FROM plan_artifacts`);
      const runId = 'catch-up-open-write';
      await createShardedRun(
        db.pool,
        {
          runId,
          environment: 'staging',
          workflowId: null,
          mode: 'normal',
          options: {},
          cursor: 0,
          upToId: Number(before.rows[0].max),
          artifactsTotal: before.rows[0].n,
          limit: null,
        },
        1,
      );
      while (!(await runBatch(db.pool, { runId, shard: 0, environment: 'staging', batchSize: 100 })).stop);
      const { held, end } = await openWrite(101);
      let committed = false;
      const commit = commitSoon().then(() => {
        committed = true;
      });
      const step = await beginCatchUpPass(db.pool, {
        runId,
        pass: 1,
        policy: { enabled: true, maxPasses: 1, untilRows: 0, untilSeconds: 0 },
        shardsPerPass: 1,
      });
      expect(committed).toBe(true);
      await commit;
      expect(step.started).toEqual(
        expect.objectContaining({ pass: 1, afterId: Number(before.rows[0].max), upToId: end, artifacts: 2, firstShard: 1 }),
      );
      expect(step.started).not.toHaveProperty('unsettledWriters');
      while (!(await runBatch(db.pool, { runId, shard: 1, environment: 'staging', batchSize: 100 })).stop);
      expect(await missingUpTo(db, end)).toEqual([]);
      expect(held).toBeLessThan(end);
    });
  });
});
