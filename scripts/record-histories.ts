/**
 * `npm run record:histories`: runs plandb's workflows once on a throwaway stack and saves their event
 * histories to test/histories/. The replay test replays them against the current workflow code, so a
 * change that would break executions already running in production fails CI. Re-record only when an
 * incompatible change is intended (and versioned with patched()).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { NativeConnection } from '@temporalio/worker';
import pino from 'pino';
import { loadConfig } from '../config/load';
import { withClient } from '../db/connection';
import { DatabaseRegistry } from '../db/registry';
import { upgrade } from '../db/migrator';
import { seedDemo } from '../db/seed';
import { createPool } from '../db/connection';
import { createMetrics } from '../metrics/registry';
import { startEmbeddedPostgres } from '../runtime/embedded-postgres';
import { projectRoot } from '../platform/project-root';
import { startTemporalDevServer } from '../runtime/temporal-dev-server';
import { createWorker } from '../worker/create-worker';
import { temporalLiveness } from '../worker/liveness';
import { installTemporalRuntime } from '../worker/temporal-runtime';
import type { MigrationEvidence } from '../model/migration';
import {
  approveSignal,
  approveUpdate,
  decideSignal,
  pauseSignal,
  promotionStatusQuery,
  resumeSignal,
  setBatchSizeUpdate,
  statusQuery,
} from '../workflows/definitions';

const OUT = path.join(projectRoot(), 'test', 'histories');

async function save(handle: WorkflowHandle, name: string): Promise<void> {
  const history = await handle.fetchHistory();
  fs.writeFileSync(path.join(OUT, `${name}.json`), historyToJSON(history));
  console.log(`saved ${name}.json (${history.events?.length} events)`);
}

async function main(): Promise<void> {
  installTemporalRuntime(pino({ level: 'warn' }), 'WARN');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-record-'));
  fs.chmodSync(scratch, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: path.join(scratch, 'pg', 'data') });
  const temporal = await startTemporalDevServer({});
  try {
    await pg.createDatabase('record');
    const url = pg.urlFor('record');
    const pool = createPool(url);
    await seedDemo(pool, { plans: 20, versions: 3, series: 10, bad: 10, seed: 1 });
    await withClient(pool, (c) => upgrade(c));
    await pool.end();

    const configPath = path.join(scratch, 'plandb.config.json');
    // dev: backfill and preflight; qa: a migration with every kind of step (gates, maintenance, a failure,
    // a retry, the post-check); stage: the target of a promotion.
    for (const name of ['qa', 'stage']) {
      await pg.createDatabase(name);
      const p = createPool(pg.urlFor(name));
      await seedDemo(p, { plans: 5, versions: 2, series: 4, bad: 10, seed: 2 });
      await p.end();
    }
    fs.writeFileSync(
      configPath,
      JSON.stringify({
        environments: {
          dev: { databaseUrlEnv: 'PLANDB_RECORD_URL', backup: { dir: path.join(scratch, 'backups', 'dev') } },
          qa: {
            databaseUrlEnv: 'PLANDB_RECORD_QA_URL',
            backup: { dir: path.join(scratch, 'backups', 'qa') },
            maintenance: { mode: 'db-flag' },
            approval: { required: true, approvers: ['recorder'], timeout: '1h' },
            backfill: { sampleLimit: 5 },
            spotCheck: { required: true },
          },
          stage: { databaseUrlEnv: 'PLANDB_RECORD_STAGE_URL', backup: { dir: path.join(scratch, 'backups', 'stage') } },
        },
      }),
    );
    const env = {
      PLANDB_RECORD_URL: url,
      PLANDB_RECORD_QA_URL: pg.urlFor('qa'),
      PLANDB_RECORD_STAGE_URL: pg.urlFor('stage'),
      TEMPORAL_ADDRESS: temporal.address,
    };
    const config = loadConfig({ path: configPath, env });
    const databases = new DatabaseRegistry(config, env);
    const taskQueue = 'record-histories';
    const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
    const worker = await createWorker({
      connection: await NativeConnection.connect({ address: temporal.address }),
      namespace: 'default',
      taskQueue,
      workflowBundlePath: null,
      deps: {
        config,
        databases,
        metrics: createMetrics(),
        logger: pino({ level: 'warn' }),
        env,
        workflowLiveness: temporalLiveness(client.workflow),
      },
    });
    fs.mkdirSync(OUT, { recursive: true });
    await worker.runUntil(async () => {
      try {
        const preflight = await client.workflow.start('preflight', {
          workflowId: 'record-preflight',
          taskQueue,
          args: [{ environment: 'dev' }],
        });
        await preflight.result();
        await save(preflight, 'preflight');

        const backfill = await client.workflow.start('backfillRepository', {
          workflowId: 'record-backfill',
          taskQueue,
          // Two shards, tuning off so the tiny batches stay tiny (several chunks, then continue-as-new).
          args: [
            { environment: 'dev', batchSize: 2, shards: 2, tuning: { enabled: false }, chunkBudgetMs: 1, continueAsNewAfterChunks: 8 },
          ],
        });
        await backfill.signal(pauseSignal, { by: 'recorder' });
        await new Promise((r) => setTimeout(r, 500));
        await backfill.signal(resumeSignal, { by: 'recorder' });
        await backfill.executeUpdate(setBatchSizeUpdate, { args: [3] });
        await backfill.executeUpdate(setBatchSizeUpdate, { args: [{ batchSize: 'auto' }] });
        await backfill.result();
        // The first execution (ended by continue-as-new, with the signals and the update) and the last one.
        await save(client.workflow.getHandle('record-backfill', backfill.firstExecutionRunId), 'backfill-repository-first-run');
        const last = await client.workflow.getHandle('record-backfill').describe();
        await save(client.workflow.getHandle('record-backfill', last.runId), 'backfill-repository-last-run');

        // Bounded waits: a recorder that waits forever for a state that never comes is what hung before.
        const until = async <T>(what: string, read: () => Promise<T>, pred: (t: T) => boolean) => {
          const end = Date.now() + 120_000;
          for (let last = await read(); !pred(last); last = await read()) {
            if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(last).slice(0, 500)}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        };

        const migration = await client.workflow.start('environmentMigration', {
          workflowId: 'record-migration',
          taskQueue,
          args: [{ environment: 'qa', postCheckHours: 0.001, postCheckInterval: '1s' }],
        });
        const status = () => migration.query(statusQuery);
        await until('the full-backfill gate', status, (e: MigrationEvidence) => e.openGate === 'full-backfill');
        await migration.signal(approveSignal, { gate: 'full-backfill', approver: 'not-listed' });
        await migration.executeUpdate(approveUpdate, { args: [{ gate: 'full-backfill', approver: 'recorder' }] });
        await until('the spot-check gate', status, (e: MigrationEvidence) => e.openGate === 'spot-check');
        await migration.executeUpdate(approveUpdate, { args: [{ gate: 'spot-check', approver: 'recorder' }] });
        await migration.result();
        await save(migration, 'environment-migration');

        // A failed verify, repaired, then `decide retry`. Normal mode, because a force backfill would
        // rewrite the altered row and verify would pass: the old recorder waited for a failure that
        // never came, which is why it hung.
        const devPool = createPool(url);
        const altered = (
          await devPool.query(
            `SELECT plan_id, version, item, location, period, metric, value FROM plan_series ORDER BY 1, 2, 3, 4, 5, 6 LIMIT 1`,
          )
        ).rows[0];
        const setValue = (v: number) =>
          devPool.query(
            `UPDATE plan_series SET value = $7 WHERE plan_id = $1 AND version = $2 AND item = $3 AND location = $4 AND period = $5 AND metric = $6`,
            [altered.plan_id, altered.version, altered.item, altered.location, altered.period, altered.metric, v],
          );
        await setValue(altered.value + 1);
        const retried = await client.workflow.start('environmentMigration', {
          workflowId: 'record-migration-retry',
          taskQueue,
          args: [{ environment: 'dev', backfillMode: 'normal' }],
        });
        await until(
          'the verify failure',
          () => retried.query(statusQuery),
          (e: MigrationEvidence) => e.status === 'waiting-decision',
        );
        await setValue(altered.value);
        await retried.signal(decideSignal, { action: 'retry', by: 'recorder' });
        await retried.result();
        await save(retried, 'environment-migration-decide-retry');

        const trim = await client.workflow.start('capacityTrim', {
          workflowId: 'record-trim',
          taskQueue,
          args: [{ environment: 'dev', maxRows: 50 }],
        });
        await trim.result();
        await save(trim, 'capacity-trim');
        await devPool.end();

        const promo = await client.workflow.start('promotion', {
          workflowId: 'record-promotion',
          taskQueue,
          args: [{ environments: ['dev', 'stage'] }],
        });
        await until(
          'the promote gate',
          () => promo.query(promotionStatusQuery),
          (p) => p.openGate === 'promote-to-stage',
        );
        await promo.signal(approveSignal, { gate: 'promote-to-stage', approver: 'recorder' });
        await promo.result();
        await save(promo, 'promotion');

        const rollback = await client.workflow.start('rollback', {
          workflowId: 'record-rollback',
          taskQueue,
          args: [{ environment: 'stage', mode: 'clear-repository' }],
        });
        await rollback.result();
        await save(rollback, 'rollback');
      } catch (err) {
        // runUntil reports only that the worker stopped: say what failed.
        console.error(err);
        throw err;
      }
    });
    await databases.close();
  } finally {
    await temporal.stop();
    await pg.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
