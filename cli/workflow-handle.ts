/** Handles on existing workflows for the commands that watch or steer them. */
import { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { CliFailure } from './errors';

export const BACKFILL_WORKFLOW_TYPE = 'backfillRepository';

/** The latest run of `workflowId` and its description; an unknown id is a CliFailure naming it. */
export async function describeWorkflow(client: Client, workflowId: string): Promise<{ handle: WorkflowHandle; description: WorkflowExecutionDescription }> {
  const handle = client.workflow.getHandle(workflowId);
  try {
    return { handle, description: await handle.describe() };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CliFailure(`no workflow ${workflowId} (${err.message})`);
    throw err;
  }
}

/** A running backfill to signal or update: refuses other workflow types, whose handlers would never see it. */
export async function runningBackfill(client: Client, workflowId: string): Promise<WorkflowHandle> {
  const { handle, description } = await describeWorkflow(client, workflowId);
  if (description.type !== BACKFILL_WORKFLOW_TYPE) throw new CliFailure(`${workflowId} is a ${description.type} workflow, not a ${BACKFILL_WORKFLOW_TYPE}`);
  if (description.status.name !== 'RUNNING') throw new CliFailure(`${workflowId} is not running (${description.status.name})`);
  return handle;
}
