/** Follows an environmentMigration while the CLI waits: one line per step change, with what to do at gates. */
import { WorkflowHandle } from '@temporalio/client';
import type { MigrationEvidence } from '../model/migration';
import { describePrediction } from '../model/backfill-eta';
import { statusQuery } from '../workflows/definitions';
import { backfillEtaOf, windowWaitLine } from '../workflows/evidence-markdown';
import { followWorkflow, FollowOutcome, ReconnectOptions } from './follow-workflow';

/** The line to print for a state, or null when nothing an operator cares about changed. */
export function migrationLine(e: MigrationEvidence): string {
  const last = e.steps.at(-1);
  if (e.openGate) {
    const eta = backfillEtaOf(e);
    return `${e.environment}: waiting at gate "${e.openGate}" — plandb approve ${e.workflowId} --gate ${e.openGate} --by <name>${eta ? ` (backfill: ${describePrediction(eta)})` : ''}`;
  }
  const waiting = windowWaitLine(e);
  if (waiting) return `${e.environment}: ${waiting}`;
  if (e.status === 'waiting-decision' && last)
    return `${e.environment}: step ${last.name} failed: ${last.error} — plandb decide ${e.workflowId} retry|rollback|abort`;
  if (last) return `${e.environment}: ${last.name} ${last.status}${last.attempt > 1 ? ` (attempt ${last.attempt})` : ''}`;
  return `${e.environment}: ${e.status}`;
}

export async function watchMigration(
  handle: WorkflowHandle,
  print: (line: string) => void,
  reconnect: ReconnectOptions,
  everyMs = 1000,
): Promise<FollowOutcome<MigrationEvidence>> {
  let previous = '';
  return followWorkflow<MigrationEvidence, MigrationEvidence>(handle, {
    poll: () => handle.query(statusQuery).catch(() => null),
    onState: (evidence) => {
      const line = migrationLine(evidence);
      if (line !== previous) print(line);
      previous = line;
    },
    reconnect,
    intervalMs: everyMs,
  });
}
