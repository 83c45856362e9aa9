/**
 * Whether a workflow still runs, as Temporal says: ownership of a run row or of the maintenance flag is
 * the live workflow, never wall-clock silence. Pure vocabulary; the worker builds the function.
 */
import type { FinalState } from './migration-state';

export interface WorkflowLivenessResult {
  running: boolean;
  /** Temporal's execution status name (RUNNING, TERMINATED, TIMED_OUT, ...), or NOT_FOUND. */
  status: string;
}

export type WorkflowLiveness = (workflowId: string) => Promise<WorkflowLivenessResult>;

/** The final state a migration takes when Temporal closed its workflow without the workflow closing it. */
export function migrationStateForClosedWorkflow(status: string): FinalState {
  switch (status) {
    case 'TERMINATED':
    case 'NOT_FOUND':
      return 'terminated';
    case 'TIMED_OUT':
      return 'timed-out';
    case 'CANCELLED':
      return 'cancelled';
    default:
      return 'failed';
  }
}
