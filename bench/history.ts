/** Temporal history size of a workflow, over its whole continue-as-new chain. */
import type { Client, WorkflowHandle } from '@temporalio/client';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

export interface HistorySize {
  events: number;
  /** Executions in the chain (1 + continue-as-new count). */
  runs: number;
}

export async function countHistoryEvents(client: Client, workflowId: string, firstRunId: string): Promise<HistorySize> {
  let runId: string | null | undefined = firstRunId;
  const size: HistorySize = { events: 0, runs: 0 };
  while (runId) {
    const history: History = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    size.events += events.length;
    size.runs++;
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
  }
  return size;
}
