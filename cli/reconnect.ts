/**
 * How a CLI following a workflow rides out a Temporal outage: which errors mean "the server is out of
 * reach" (as opposed to "the workflow failed"), how long to wait between attempts, and the
 * `--reconnect-timeout` option. Pure functions; cli/follow-workflow.ts applies them.
 */
import { isGrpcServiceError, WorkflowFailedError } from '@temporalio/client';
import { InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../config/schema';

export const RECONNECT_TIMEOUT_ENV = 'PLANDB_RECONNECT_TIMEOUT';
export const DEFAULT_RECONNECT_TIMEOUT_MS = 5 * 60_000;
// A typo like "5000m" would leave a script hanging for days; nobody needs to wait more than a day.
const MAX_RECONNECT_TIMEOUT_MS = 24 * 3_600_000;

// gRPC status codes (grpc.status): the server could not be reached, or did not answer in time.
const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;
const TRANSPORT_GRPC_CODES = new Set([GRPC_UNAVAILABLE, GRPC_DEADLINE_EXCEEDED]);
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * True when `err` says Temporal is out of reach (gRPC UNAVAILABLE or DEADLINE_EXCEEDED, or a socket
 * error), looking through the causes: the client wraps them in a ServiceError ("Failed to get
 * Workflow execution history"). A WorkflowFailedError is the workflow's own outcome, never transport.
 */
export function isTransportError(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof WorkflowFailedError) return false;
    if (isGrpcServiceError(e)) return TRANSPORT_GRPC_CODES.has(e.code);
    if (CONNECTION_ERRNOS.has(String((e as NodeJS.ErrnoException).code))) return true;
  }
  return false;
}

export interface Backoff {
  initialMs: number;
  factor: number;
  maxMs: number;
}

export const RECONNECT_BACKOFF: Backoff = { initialMs: 1_000, factor: 2, maxMs: 15_000 };

/**
 * The wait before retry number `attempt` (0-based) of an outage `elapsedMs` old, trimmed so the last
 * retry lands on the deadline; null once `timeoutMs` has passed (give up).
 */
export function retryDelayMs(attempt: number, elapsedMs: number, timeoutMs: number, backoff: Backoff = RECONNECT_BACKOFF): number | null {
  const remaining = timeoutMs - elapsedMs;
  if (remaining <= 0) return null;
  return Math.min(backoff.initialMs * backoff.factor ** attempt, backoff.maxMs, remaining);
}

/** `--reconnect-timeout` / PLANDB_RECONNECT_TIMEOUT: a duration like 90s, 5m, 1h (at most 24h). */
export function reconnectTimeout(value: string): number {
  let ms: number;
  try {
    ms = parseDuration(value.trim());
  } catch {
    throw new InvalidArgumentError(`expected a duration like 90s, 5m or 1h, got "${value}"`);
  }
  if (ms > MAX_RECONNECT_TIMEOUT_MS) throw new InvalidArgumentError(`expected a duration of at most 24h, got "${value}"`);
  return ms;
}

/** "5m", "90s", "2h": the largest whole unit, the way the option is written. */
export function formatDuration(ms: number): string {
  const units: [string, number][] = [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ];
  for (const [unit, size] of units) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${Math.ceil(ms / 1000)}s`;
}

export function reconnectTimeoutOption(): Option {
  return new Option('--reconnect-timeout <duration>', 'while following, how long to keep retrying a lost Temporal connection (e.g. 90s, 5m, 1h)')
    .env(RECONNECT_TIMEOUT_ENV)
    .default(DEFAULT_RECONNECT_TIMEOUT_MS, formatDuration(DEFAULT_RECONNECT_TIMEOUT_MS))
    .argParser(reconnectTimeout);
}
