/** The activities' workflow liveness port, over a Temporal client on the worker's address and namespace. */
import type { WorkflowClient } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { WorkflowLivenessPort } from '../activities/deps';

export function temporalLiveness(workflows: WorkflowClient): WorkflowLivenessPort {
  return async (workflowId) => {
    if (!workflowId) return { running: false, status: 'NONE' };
    try {
      // Without a run id: the latest execution, so a run carried across continue-as-new is still owned.
      const { status } = await workflows.getHandle(workflowId).describe();
      return { running: status.name === 'RUNNING', status: status.name };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { running: false, status: 'NOT_FOUND' };
      throw err; // Temporal unreachable: no answer is not "closed"
    }
  };
}
