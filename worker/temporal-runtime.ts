import { DefaultLogger, LogLevel, Runtime } from '@temporalio/worker';
import type { Logger } from '../logging/logger';

let installed = false;

/**
 * Routes the Temporal SDK's own logs into our JSON logger. Must run before the first connection or
 * worker of the process is created; later calls are no-ops.
 */
export function installTemporalRuntime(logger: Logger, level: LogLevel = 'INFO'): void {
  if (installed) return;
  installed = true;
  Runtime.install({
    logger: new DefaultLogger(level, ({ level: lvl, message, meta }) => {
      const method = lvl === 'ERROR' ? 'error' : lvl === 'WARN' ? 'warn' : lvl === 'INFO' ? 'info' : 'debug';
      logger[method]({ source: 'temporal-sdk', ...meta }, message);
    }),
  });
}
