/**
 * What a migration's webhook says about each event: the details a program reads (the generic JSON
 * body) and a text a person reads (its `text`, and the whole of a Slack message). A message about a
 * gate or a failed step carries the exact commands and Web UI inputs that answer it, so whoever reads
 * it can act without opening the runbook. Pure.
 */
import { describePrediction, type EtaPrediction } from '../model/backfill-eta';
import type { MigrationEvidence, StepName } from '../model/migration';
import type { NotificationEvent, NotificationKind } from '../model/notifications';
import { excerpt } from '../model/text';
import { renderEvidenceSummary } from './evidence-markdown';

export type NotificationFacts =
  | { event: 'gate-opened'; gate: string; approvers: string[]; timeoutMs: number; eta?: EtaPrediction | null }
  | { event: 'maintenance-on' | 'maintenance-off'; mode: string; reason: string }
  | { event: 'step-failed'; step: StepName; attempt: number; error: string }
  | { event: 'migration-completed'; evidence: MigrationEvidence };

export interface NotificationMessage {
  event: NotificationEvent;
  details: Record<string, unknown>;
  text: string;
}

/** Step errors in a message; the evidence keeps the longer excerpt. */
const MAX_ERROR_IN_MESSAGE = 500;

/** A shell word: bare when it is safe, else single-quoted. */
const sh = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

const DECISIONS = [
  { action: 'retry', does: 'run the step again' },
  { action: 'rollback', does: 'restore the backup (or clear the repository); maintenance off' },
  { action: 'abort', does: 'stop here; maintenance off' },
] as const;

function hours(ms: number): string {
  const h = ms / 3_600_000;
  return h >= 1 ? `${Number(h.toFixed(1))} h` : `${Math.round(ms / 60_000)} min`;
}

export function buildNotification(environment: string, workflowId: string, facts: NotificationFacts): NotificationMessage {
  const wf = sh(workflowId);
  const head = `plandb ${environment} (${workflowId})`;
  switch (facts.event) {
    case 'gate-opened': {
      const approver = facts.approvers[0] ?? 'your-name';
      const input = { gate: facts.gate, approver };
      const approve = `plandb approve ${wf} --gate ${sh(facts.gate)} --by ${sh(approver)}`;
      const reject = `plandb reject ${wf} --gate ${sh(facts.gate)} --by ${sh(approver)} --comment 'why'`;
      return {
        event: facts.event,
        details: {
          gate: facts.gate,
          approvers: facts.approvers,
          timeoutSeconds: facts.timeoutMs / 1000,
          approve: { cli: approve, update: 'approve', input },
          reject: { cli: reject, update: 'reject', input },
          ...(facts.eta && { backfillEta: facts.eta }),
        },
        text: [
          `${head}: waiting for approval at gate "${facts.gate}" (times out in ${hours(facts.timeoutMs)}).`,
          `Who may approve: ${facts.approvers.length ? facts.approvers.join(', ') : 'anyone'}${facts.approvers.length > 1 ? ' (--by is who decides)' : ''}.`,
          `Approve: ${approve}`,
          `Reject: ${reject}`,
          `Web UI: Send an Update named "approve" (or "reject") to ${workflowId} with input ${JSON.stringify(input)}`,
          ...(facts.eta ? [`Backfill: ${describePrediction(facts.eta)}`] : []),
        ].join('\n'),
      };
    }
    case 'maintenance-on':
    case 'maintenance-off': {
      const on = facts.event === 'maintenance-on';
      return {
        event: facts.event,
        details: { mode: facts.mode, enabled: on, reason: facts.reason },
        text: `${head}: maintenance ${on ? 'ON — the Plan creation API refuses new plans' : 'OFF — the Plan creation API is open again'} (${facts.mode}). Reason: ${facts.reason}`,
      };
    }
    case 'step-failed': {
      const error = excerpt(facts.error, MAX_ERROR_IN_MESSAGE);
      const options = DECISIONS.map((d) => ({
        action: d.action,
        does: d.does,
        cli: `plandb decide ${wf} ${d.action} --by your-name`,
        signal: 'decide',
        input: { action: d.action, by: 'your-name' },
      }));
      return {
        event: facts.event,
        details: { step: facts.step, attempt: facts.attempt, error, decide: options },
        text: [
          `${head}: step ${facts.step} failed (attempt ${facts.attempt}): ${error}`,
          'The migration waits for a decision (7 days, then it aborts):',
          ...options.map((o) => `- ${o.action} (${o.does}): ${o.cli}`),
          `Web UI: Send a Signal named "decide" to ${workflowId} with input ${JSON.stringify(options[0].input)} (or "rollback", "abort")`,
        ].join('\n'),
      };
    }
    case 'migration-completed': {
      const e = facts.evidence;
      return {
        event: facts.event,
        details: {
          status: e.status,
          startedAt: e.startedAt,
          finishedAt: e.finishedAt,
          steps: e.steps.map((s) => ({ name: s.name, status: s.status, attempt: s.attempt })),
          summary: renderEvidenceSummary(e),
        },
        text: `${head}: migration completed. Full evidence: plandb evidence ${wf} --env ${environment}\n\n${renderEvidenceSummary(e)}`,
      };
    }
  }
}

/** The POSTed body: the generic JSON for programs, or Slack's incoming-webhook shape. */
export function notificationBody(kind: NotificationKind, environment: string, workflowId: string, m: NotificationMessage) {
  return kind === 'slack' ? { text: m.text } : { event: m.event, environment, workflowId, ...m.details, text: m.text };
}
