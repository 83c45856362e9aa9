/** Asks Temporal whether a workflow still runs (model/workflow-liveness.ts): the owner check behind runs and the maintenance flag. */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { WorkflowLiveness } from '../model/workflow-liveness';

export function temporalLiveness(client: Client): WorkflowLiveness {
  return async (workflowId) => {
    try {
      const { status } = await client.workflow.getHandle(workflowId).describe();
      return { running: status.name === 'RUNNING', status: status.name };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { running: false, status: 'NOT_FOUND' };
      throw err;
    }
  };
}
