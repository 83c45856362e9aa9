import { DefaultLogger, LogLevel, Runtime } from '@temporalio/worker';
import type { Logger } from '../logging/logger';

export const DEFAULT_TEMPORAL_METRICS_ADDRESS = '127.0.0.1:9465';

export interface TemporalRuntimeOptions {
  /**
   * `host:port` where the SDK serves its own Prometheus metrics (`/metrics`); none when omitted. Its
   * exporter runs in the native core with its own HTTP server, hence a second endpoint next to ours.
   */
  metricsAddress?: string;
}

/** PLANDB_TEMPORAL_METRICS_ADDRESS, default 127.0.0.1:9465 (the port next to plandb's own 9464). */
export function temporalMetricsAddressFromEnv(env: NodeJS.ProcessEnv): string {
  return env.PLANDB_TEMPORAL_METRICS_ADDRESS || DEFAULT_TEMPORAL_METRICS_ADDRESS;
}

let installed: { metricsAddress: string | null } | null = null;

/**
 * Routes the Temporal SDK's own logs into our JSON logger and, when asked, exports its metrics. Must run
 * before the first connection or worker of the process is created; later calls change nothing. Returns
 * where the installed runtime serves SDK metrics (null: nowhere).
 */
export function installTemporalRuntime(logger: Logger, level: LogLevel = 'INFO', opts: TemporalRuntimeOptions = {}): string | null {
  if (installed) return installed.metricsAddress;
  Runtime.install({
    logger: new DefaultLogger(level, ({ level: lvl, message, meta }) => {
      const method = lvl === 'ERROR' ? 'error' : lvl === 'WARN' ? 'warn' : lvl === 'INFO' ? 'info' : 'debug';
      logger[method]({ source: 'temporal-sdk', ...meta }, message);
    }),
    ...(opts.metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: opts.metricsAddress } } } } : {}),
  });
  installed = { metricsAddress: opts.metricsAddress ?? null };
  return installed.metricsAddress;
}
