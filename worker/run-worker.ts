import os from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { PlandbConfig } from '../config/schema';
import { webhookVariablesWarning } from '../config/notifications';
import { cannotReachTemporal, temporalConnectOptions } from '../config/temporal-connection';
import { backupToolsWarning, locatePgToolVersions } from '../db/pg-tools';
import { DatabaseRegistry } from '../db/registry';
import { logger as defaultLogger, type Logger } from '../logging/logger';
import { createMetrics, primeMetrics, type PlandbMetrics } from '../metrics/registry';
import { metricsListenFromEnv, startMetricsServer } from '../metrics/server';
import { createWorker, maxConcurrentChunksFromEnv, type PlandbWorker } from './create-worker';
import { temporalLiveness } from './liveness';
import { reconcileIntervalFromEnv, startReconciler, type Reconciler } from './reconciler';
import { installTemporalRuntime, temporalMetricsAddressFromEnv } from './temporal-runtime';

export interface RunningWorker {
  worker: PlandbWorker;
  metrics: PlandbMetrics;
  /** Where `/metrics` and `/healthz` are served (`host:port`). */
  metricsAddress: string;
  /** Where the Temporal SDK serves its own metrics; null when the runtime was installed without them. */
  temporalMetricsAddress: string | null;
  /** Resolves when the worker has stopped and its connections and metrics server are closed. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

export interface StartWorkerOptions {
  /** Database URLs and the PLANDB_METRICS_* / PLANDB_TEMPORAL_METRICS_ADDRESS / PLANDB_RECONCILE_INTERVAL / PLANDB_MAX_CONCURRENT_CHUNKS settings (default process.env). */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

/**
 * Connects to Temporal and runs plandb's worker until shutdown(), serving its metrics meanwhile. The
 * Temporal runtime also shuts the worker down gracefully on SIGINT/SIGTERM (in-flight activities finish
 * or are retried elsewhere).
 */
export async function startWorker(config: PlandbConfig, opts: StartWorkerOptions = {}): Promise<RunningWorker> {
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? defaultLogger;
  const { address, namespace, taskQueue } = config.temporal;
  const backupWarning = backupToolsWarning(config.environments, await locatePgToolVersions(env));
  // A warning, not a refusal: environments with backup.enabled false need no pg_dump.
  if (backupWarning) logger.warn({ event: 'backup_tools_unusable', message: backupWarning });
  const webhookWarning = webhookVariablesWarning(config.environments, env);
  if (webhookWarning) logger.warn({ event: 'notification_targets_unusable', message: webhookWarning });
  const temporalMetricsAddress = installTemporalRuntime(logger, 'INFO', { metricsAddress: temporalMetricsAddressFromEnv(env) });
  const reconcileIntervalMs = reconcileIntervalFromEnv(env);
  const maxConcurrentChunks = maxConcurrentChunksFromEnv(env);
  // In the history of every task it runs: which worker ran a chunk.
  const identity = `plandb-worker@${os.hostname()}/${process.pid}`;
  const databases = new DatabaseRegistry(config, env);
  const metrics = createMetrics(undefined, { config, databases });
  primeMetrics(metrics, config);
  // Before connecting: a port already taken fails the start at once, with nothing to clean up.
  const server = await startMetricsServer(metrics.registry, metricsListenFromEnv(env));
  let connection: NativeConnection | undefined;
  // The activities' and the reconciler's view of which workflows still run.
  let clientConnection: Connection | undefined;
  let worker: PlandbWorker;
  let reconciler: Reconciler;
  try {
    const unreachable = (err: Error) => Promise.reject(cannotReachTemporal(config.temporal, err));
    connection = await NativeConnection.connect(temporalConnectOptions(config.temporal)).catch(unreachable);
    clientConnection = await Connection.connect(temporalConnectOptions(config.temporal)).catch(unreachable);
    const deps = {
      config,
      databases,
      metrics,
      logger,
      env,
      workflowLiveness: temporalLiveness(new Client({ connection: clientConnection, namespace }).workflow),
    };
    worker = await createWorker({
      connection,
      namespace,
      taskQueue,
      identity,
      deps,
      ...(maxConcurrentChunks !== undefined && { maxConcurrentChunks }),
    });
    reconciler = startReconciler(deps, { intervalMs: reconcileIntervalMs });
  } catch (err) {
    await connection?.close();
    await clientConnection?.close();
    await databases.close();
    await server.close();
    throw err;
  }
  const shutdown = async () => {
    if (worker.isRunning()) worker.shutdown();
    await done;
  };
  logger.info({
    event: 'worker_started',
    address,
    namespace,
    // On/off only: the API key and the key file stay out of the log.
    tls: config.temporal.credentials?.tls ?? false,
    taskQueue,
    identity,
    environments: Object.keys(config.environments),
    metrics: server.url,
    temporalMetrics: temporalMetricsAddress ? `http://${temporalMetricsAddress}/metrics` : null,
    reconcileIntervalMs,
    maxConcurrentChunks: maxConcurrentChunks ?? null,
  });
  const done = worker.run().finally(async () => {
    await reconciler.stop();
    await databases.close();
    await connection?.close();
    await clientConnection?.close();
    await server.close();
    logger.info({ event: 'worker_stopped' });
  });
  return { worker, metrics, metricsAddress: server.address, temporalMetricsAddress, done, shutdown };
}
