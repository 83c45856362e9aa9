/**
 * What a closed workflow means for the migration it owned: ownership of a migration run or of the
 * maintenance flag is the live workflow (activities/deps.ts WorkflowLivenessPort), never wall-clock silence. Pure.
 */
import type { FinalState } from './migration-state';

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
