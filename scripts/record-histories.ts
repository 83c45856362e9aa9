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
import { projectRoot } from '../runtime/paths';
import { startTemporalDevServer } from '../runtime/temporal-dev-server';
import { createWorker } from '../worker/create-worker';
import { installTemporalRuntime } from '../worker/temporal-runtime';
import { pauseSignal, resumeSignal, setBatchSizeUpdate } from '../workflows/definitions';

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
    fs.writeFileSync(configPath, JSON.stringify({ environments: { dev: { databaseUrlEnv: 'PLANDB_RECORD_URL' } } }));
    const env = { PLANDB_RECORD_URL: url, TEMPORAL_ADDRESS: temporal.address };
    const config = loadConfig({ path: configPath, env });
    const databases = new DatabaseRegistry(config, env);
    const taskQueue = 'record-histories';
    const worker = await createWorker({
      connection: await NativeConnection.connect({ address: temporal.address }),
      namespace: 'default',
      taskQueue,
      workflowBundlePath: null,
      deps: { config, databases, metrics: createMetrics(), logger: pino({ level: 'warn' }), env },
    });
    const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
    fs.mkdirSync(OUT, { recursive: true });
    await worker.runUntil(async () => {
      const preflight = await client.workflow.start('preflight', { workflowId: 'record-preflight', taskQueue, args: [{ environment: 'dev' }] });
      await preflight.result();
      await save(preflight, 'preflight');

      const backfill = await client.workflow.start('backfillRepository', {
        workflowId: 'record-backfill',
        taskQueue,
        args: [{ environment: 'dev', batchSize: 2, chunkBudgetMs: 1, continueAsNewAfterChunks: 8 }],
      });
      await backfill.signal(pauseSignal, { by: 'recorder' });
      await new Promise((r) => setTimeout(r, 500));
      await backfill.signal(resumeSignal, { by: 'recorder' });
      await backfill.executeUpdate(setBatchSizeUpdate, { args: [3] });
      await backfill.result();
      // The first execution (ended by continue-as-new, with the signals and the update) and the last one.
      await save(client.workflow.getHandle('record-backfill', backfill.firstExecutionRunId), 'backfill-repository-first-run');
      const last = await client.workflow.getHandle('record-backfill').describe();
      await save(client.workflow.getHandle('record-backfill', last.runId), 'backfill-repository-last-run');
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
