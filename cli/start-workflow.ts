import { Client, WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure, TerminatedFailure, WorkflowIdConflictPolicy } from '@temporalio/common';
import { PLAN_DB_ENVIRONMENT } from '../workflows/search-attributes';
import { CliFailure } from './errors';
import { osUser } from './options';

export interface StartRequest<I> {
  workflowType: string;
  workflowId: string;
  environment: string;
  taskQueue: string;
  input: I;
  /** What it is, for the Web UI's workflow list, e.g. "backfill dev (normal)"; " by <who>" is added. */
  summary: string;
  /** Who starts it (default: the OS user). */
  by?: string;
}

/** Starts a plandb workflow, refusing a second start of a running one (ID conflict policy FAIL). */
export async function startWorkflow<I>(client: Client, req: StartRequest<I>) {
  try {
    return await client.workflow.start(req.workflowType, {
      workflowId: req.workflowId,
      taskQueue: req.taskQueue,
      args: [req.input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      typedSearchAttributes: [{ key: PLAN_DB_ENVIRONMENT, value: req.environment }],
      staticSummary: `${req.summary} by ${req.by ?? osUser()}`,
      // The input as sent, on the workflow's page (inputs hold names and numbers, never secrets).
      staticDetails: ['Input:', '', '```json', JSON.stringify(req.input, null, 2), '```'].join('\n'),
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new CliFailure(`${req.workflowId} is already running; watch it with \`plandb status ${req.workflowId}\``);
    }
    throw err;
  }
}

/**
 * Waits for a workflow's result; a workflow that did not complete becomes a CliFailure saying how it
 * closed (terminated with its reason, cancelled, or failed with the root cause's message).
 */
export async function awaitResult<R>(handle: { workflowId: string; result(): Promise<R> }): Promise<R> {
  try {
    return await handle.result();
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      if (err.cause instanceof TerminatedFailure) throw new CliFailure(`${handle.workflowId} was terminated: ${err.cause.message}`);
      if (err.cause instanceof CancelledFailure) throw new CliFailure(`${handle.workflowId} was cancelled`);
      const cause = (err.cause as Error | undefined)?.cause ?? err.cause;
      throw new CliFailure(`${handle.workflowId} failed: ${(cause as Error | undefined)?.message ?? err.message}`);
    }
    throw err;
  }
}
