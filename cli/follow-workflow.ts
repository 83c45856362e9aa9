/**
 * Follows a workflow until it closes, riding out Temporal outages: the workflow keeps running while
 * the server is away, so losing the connection is not the workflow failing (see reconnect.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isGrpcDeadlineError, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { CliContext } from './context';
import { CliFailure, EXIT_LOST_CONTACT } from './errors';
import { formatDuration, isTransportError, retryDelayMs } from './reconnect';
import { awaitResult } from './start-workflow';
import { initialWorkerWatch, pollerCount, warnIfNoWorker, workerCheckDue, workerMessage, workerNotice, WorkerTarget } from './worker-presence';

export interface ReconnectOptions {
  /** The Temporal address, for the messages. */
  address: string;
  timeoutMs: number;
  /** Where the outage messages go (stderr: stdout stays parseable). */
  log(line: string): void;
  /** Told once when Temporal is lost and once when it is back, e.g. to mark a state file unknown. */
  onConnection?(connected: boolean): Promise<void> | void;
  /** The task queue whose workers the follow watches for, saying so when none polls (worker-presence.ts). */
  workers?: WorkerTarget;
}

export interface FollowOptions<S> {
  /** The workflow's own state (a query), or null while it cannot answer; never rejects. */
  poll(): Promise<S | null>;
  onState(state: S): Promise<void> | void;
  reconnect: ReconnectOptions;
  intervalMs?: number;
}

export type FollowOutcome<R> = { result: R } | { failure: CliFailure };

const PROBE_TIMEOUT_MS = 3_000;
const SETTLE_MS = 5_000;

/** Why the server counts as lost: the innermost error, under the client's "Failed to ..." wrapper. */
function outageReason(err: unknown): string {
  if (isGrpcDeadlineError(err)) return `no answer within ${formatDuration(PROBE_TIMEOUT_MS)}`;
  let e = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

/** The transport error when Temporal does not answer a trivial call; null when it does (any answer counts). */
async function unreachable(handle: WorkflowHandle): Promise<unknown> {
  try {
    await handle.client.connection.withDeadline(Date.now() + PROBE_TIMEOUT_MS, () => handle.client.workflowService.getSystemInfo({}));
    return null;
  } catch (err) {
    return isTransportError(err) ? err : null;
  }
}

/**
 * Polls `poll` every `intervalMs` until the workflow closes. When Temporal is out of reach, says so,
 * retries with backoff for up to `reconnect.timeoutMs`, then gives up with exit code 3. Returns the
 * result, or how the workflow did not complete.
 */
export async function followWorkflow<R, S>(handle: WorkflowHandle, opts: FollowOptions<S>): Promise<FollowOutcome<R>> {
  const { reconnect } = opts;
  const abort = new AbortController();
  const startedAt = Date.now();
  let workerWatch = initialWorkerWatch;
  const watchWorkers = async (target: WorkerTarget) => {
    const elapsed = Date.now() - startedAt;
    if (!workerCheckDue(workerWatch, elapsed)) return;
    const { watch, notice } = workerNotice(workerWatch, await pollerCount(handle.client, target), elapsed);
    workerWatch = watch;
    if (notice) target.log(workerMessage(notice, target, handle.workflowId, true));
  };
  let closed: Promise<{ result: R } | { error: unknown }> | null = null;
  // Declared through `as`: assigned in the closures below, which TypeScript's narrowing does not see.
  let lost = null as { since: number; attempt: number } | null;

  const lose = async (err: unknown) => {
    if (lost) return;
    lost = { since: Date.now(), attempt: 0 };
    reconnect.log(
      `lost Temporal at ${reconnect.address} (${outageReason(err)}) at ${new Date(lost.since).toISOString()}, retrying for up to ${formatDuration(reconnect.timeoutMs)}`,
    );
    await reconnect.onConnection?.(false);
  };
  const regain = async () => {
    if (!lost) return;
    reconnect.log(`reconnected to Temporal at ${reconnect.address} after ${formatDuration(Date.now() - lost.since)}`);
    lost = null;
    await reconnect.onConnection?.(true);
  };

  for (;;) {
    // Never rejects: a rejection nobody awaits yet (we may be inside a query) would crash the process.
    closed ??= handle.client.connection.withAbortSignal(abort.signal, () => awaitResult<R>(handle)).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    // Asked first and apart from the query: a query also fails when no worker answers, which is no outage.
    const down = await unreachable(handle);
    if (down) await lose(down);
    else await regain();
    if (!lost) {
      const state = await opts.poll();
      if (state !== null) await opts.onState(state);
      if (reconnect.workers) await watchWorkers(reconnect.workers);
    }

    let wait = opts.intervalMs ?? 1000;
    if (lost) {
      const delay = retryDelayMs(lost.attempt++, Date.now() - lost.since, reconnect.timeoutMs);
      if (delay === null) {
        // A retry the client has already scheduled would throw once the connection is closed: end it first.
        abort.abort();
        await Promise.race([closed, sleep(SETTLE_MS, null, { ref: false })]);
        throw new CliFailure(
          `lost contact with Temporal at ${reconnect.address} for ${formatDuration(reconnect.timeoutMs)}; ` +
            `${handle.workflowId} may still be running: follow it with \`plandb status ${handle.workflowId}\``,
          EXIT_LOST_CONTACT,
        );
      }
      wait = delay;
    }
    // An unref'd timer, so a finished watch does not hold the process for the rest of the interval.
    const end = await Promise.race([closed, sleep(wait, null, { ref: false })]);
    if (!end) continue;
    if ('error' in end && isTransportError(end.error)) {
      // The wait for the result broke with the connection: start it again on the next round.
      closed = null;
      await lose(end.error);
      continue;
    }
    // The server told us how the workflow closed, so it is reachable again.
    await regain();
    if ('result' in end) return end;
    if (end.error instanceof CliFailure) return { failure: end.error };
    throw end.error;
  }
}

/** The result, riding out outages like followWorkflow; a workflow that did not complete throws its CliFailure. */
export async function followResult<R>(handle: WorkflowHandle, reconnect: ReconnectOptions): Promise<R> {
  const closed = await followWorkflow<R, never>(handle, { poll: async () => null, onState: () => undefined, reconnect });
  if ('failure' in closed) throw closed.failure;
  return closed.result;
}

const logLine = (line: string) => console.error(`plandb: ${line}`);

/** The configured task queue, with messages on stderr. */
export function workersOf(c: CliContext): WorkerTarget {
  const { address, namespace, taskQueue } = c.config.temporal;
  return { address, namespace, taskQueue, log: logLine };
}

/** Outage and no-worker messages on stderr, naming the configured Temporal address and task queue. */
export function reconnectVia(c: CliContext, timeoutMs: number, onConnection?: ReconnectOptions['onConnection']): ReconnectOptions {
  return { address: c.config.temporal.address, timeoutMs, log: logLine, onConnection, workers: workersOf(c) };
}

/** `--no-wait`: prints {workflowId, runId}, then warns on stderr when no worker polls the task queue. */
export async function printStarted(c: CliContext, handle: WorkflowHandleWithFirstExecutionRunId): Promise<void> {
  console.log(JSON.stringify({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId }));
  await warnIfNoWorker(handle.client, workersOf(c), handle.workflowId);
}
