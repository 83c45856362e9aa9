/** Activity stubs with the timeouts and retry policies each kind of activity needs. */
import { proxyActivities } from '@temporalio/workflow';
import type { PlandbActivities } from '../activities';
import { NOTIFY_HTTP_TIMEOUT_MS, NOTIFY_MAX_ATTEMPTS } from '../model/notifications';

const NON_RETRYABLE = ['ConfigError', 'MigrationDriftError', 'InvalidInput'];

/** Short database or HTTP calls. */
export const quick = proxyActivities<PlandbActivities>({
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 10,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

/** Long work that heartbeats: preflight inventory, backup, restore, verify. */
export const long = proxyActivities<PlandbActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    maximumAttempts: 5,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

/** Schema migrations: one statement may run long without a heartbeat; the advisory lock makes retries safe. */
export const schema = proxyActivities<PlandbActivities>({
  startToCloseTimeout: '1 hour',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 3,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

/** Webhook deliveries: a few short attempts (about 40 s at worst), then the workflow records the failure and goes on. */
export const notifying = proxyActivities<PlandbActivities>({
  startToCloseTimeout: NOTIFY_HTTP_TIMEOUT_MS + 5_000,
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '8s', maximumAttempts: NOTIFY_MAX_ATTEMPTS },
});
