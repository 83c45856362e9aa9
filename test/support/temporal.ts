/** A plandb worker on its own task queue against the shared Temporal dev server. */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import pino from 'pino';
import type { PlandbConfig } from '../../config/schema';
import { DatabaseRegistry } from '../../db/registry';
import type { Logger } from '../../logging/logger';
import { createMetrics, PlandbMetrics, primeMetrics } from '../../metrics/registry';
import { createWorker, type PlandbWorker } from '../../worker/create-worker';
import { temporalLiveness } from '../../worker/liveness';
import { startReconciler } from '../../worker/reconciler';

export interface TemporalHarness {
  client: Client;
  taskQueue: string;
  databases: DatabaseRegistry;
  metrics: PlandbMetrics;
  /** Runs a fresh worker and its reconciler while `fn` runs (worker.runUntil), so nothing is left running after it. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Reconciler interval in tests: closed workflows' runs are closed quickly. */
const TEST_RECONCILE_INTERVAL_MS = 1_000;

/**
 * `logger`: the activities' logger (silent by default); pass one writing to a stream to read what they log.
 * `address`: a dedicated dev server instead of the shared one.
 */
export async function createTemporalHarness(
  config: PlandbConfig,
  env: NodeJS.ProcessEnv,
  logger: Logger = pino({ level: 'silent' }),
  address = process.env.PLANDB_TEST_TEMPORAL_ADDRESS,
): Promise<TemporalHarness> {
  if (!address) throw new Error('PLANDB_TEST_TEMPORAL_ADDRESS is not set: run integration tests through jest (global setup)');
  const taskQueue = `plandb-test-${randomBytes(4).toString('hex')}`;
  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  const databases = new DatabaseRegistry(config, env);
  const metrics = createMetrics(undefined, { config, databases });
  primeMetrics(metrics, config);
  const deps = {
    config: { ...config, temporal: { ...config.temporal, taskQueue } },
    databases,
    metrics,
    logger,
    env,
    workflowLiveness: temporalLiveness(client.workflow),
  };
  const newWorker = (): Promise<PlandbWorker> =>
    createWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue,
      workflowBundlePath: process.env.PLANDB_TEST_WORKFLOW_BUNDLE ?? null,
      deps,
    });
  return {
    client,
    taskQueue,
    databases,
    metrics,
    run: async (fn) => {
      const worker = await newWorker();
      const reconciler = startReconciler(deps, { intervalMs: TEST_RECONCILE_INTERVAL_MS });
      try {
        return await worker.runUntil(fn);
      } finally {
        await reconciler.stop();
      }
    },
    close: async () => {
      await databases.close();
      await connection.close();
      await nativeConnection.close();
    },
  };
}
