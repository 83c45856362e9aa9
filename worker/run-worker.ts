import os from 'node:os';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { PlandbConfig } from '../config/schema';
import { DatabaseRegistry } from '../db/registry';
import { logger } from '../logging/logger';
import { createMetrics } from '../metrics/registry';
import { createWorker } from './create-worker';
import { installTemporalRuntime } from './temporal-runtime';

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has stopped and its connections are closed. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Connects to Temporal and runs plandb's worker until shutdown(). The Temporal runtime also shuts the
 * worker down gracefully on SIGINT/SIGTERM (in-flight activities finish or are retried elsewhere).
 */
export async function startWorker(config: PlandbConfig): Promise<RunningWorker> {
  const { address, namespace, taskQueue } = config.temporal;
  installTemporalRuntime(logger);
  const connection = await NativeConnection.connect({ address });
  const databases = new DatabaseRegistry(config);
  const worker = await createWorker({
    connection,
    namespace,
    taskQueue,
    identity: `plandb-worker@${os.hostname()}/${process.pid}`,
    deps: { config, databases, metrics: createMetrics(), logger, env: process.env },
  });
  const shutdown = async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await done;
  };
  logger.info({ event: 'worker_started', address, namespace, taskQueue, environments: Object.keys(config.environments) });
  const done = worker.run().finally(async () => {
    await databases.close();
    await connection.close();
    logger.info({ event: 'worker_stopped' });
  });
  return { worker, done, shutdown };
}
