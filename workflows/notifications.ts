/**
 * The workflows' side of webhook notifications (a migration's events, a promotion's gates): `notify` starts one deliverNotification activity per
 * target that wants the event and returns at once (a slow receiver never holds the migration); each
 * delivery, delivered or failed after its retries, becomes an evidence row. A failure is recorded,
 * never thrown. With no target for an event nothing is scheduled — not even the `notifications` patch
 * marker — so migrations without targets keep their histories as they were.
 */
import { ActivityFailure, ApplicationFailure, CancellationScope, patched } from '@temporalio/workflow';
import type { EvidenceRow, MigrationPolicy } from '../model/migration';
import { NOTIFY_MAX_ATTEMPTS, targetsFor, type DeliveryReport, type NotificationRecord } from '../model/notifications';
import { excerpt } from '../model/text';
import { notifying } from './activity-proxies';
import { buildNotification, notificationBody, type NotificationFacts } from './notification-messages';

export interface Notifier {
  /** Starts the deliveries of one event; returns without waiting for them. */
  notify(facts: NotificationFacts): void;
  /** Waits for every delivery started so far (their rows are queued when it returns). */
  settle(): Promise<void>;
}

/** The evidence row of one delivery: the target by index, kind and variable name, never its URL. */
const notificationRow = (n: NotificationRecord): Omit<EvidenceRow, 'seq'> => ({
  kind: 'notification',
  name: n.event,
  status: n.status,
  attempt: n.attempts,
  summary: { target: n.target, kind: n.kind, urlEnv: n.urlEnv, httpStatus: n.httpStatus },
  error: n.error,
  at: n.at,
});

export function createNotifier(opts: {
  environment: string;
  workflowId: string;
  /** Read at each event: the policy is resolved after the notifier is made. */
  policy: () => MigrationPolicy | null;
  /** Where each delivery is recorded: the migration's evidence, or a promotion's status. */
  evidence: { notifications?: NotificationRecord[] };
  /** The migration's evidence rows (a promotion has none). */
  row?: (r: Omit<EvidenceRow, 'seq'>) => void;
}): Notifier {
  const { environment, workflowId } = opts;
  const pending: Promise<void>[] = [];
  const record = (n: NotificationRecord) => {
    (opts.evidence.notifications ??= []).push(n);
    opts.row?.(notificationRow(n));
  };

  return {
    notify(facts) {
      const targets = targetsFor(opts.policy()?.notifications, facts.event);
      if (!targets.length || !patched('notifications')) return;
      const message = buildNotification(environment, workflowId, facts);
      for (const t of targets) {
        const target = { index: t.index, kind: t.kind, urlEnv: t.urlEnv };
        const body = notificationBody(t.kind, environment, workflowId, message);
        // Not cancellable: a cancelled migration still records what its notifications did.
        const delivery = CancellationScope.nonCancellable(async () => {
          const base = { event: facts.event, target: t.index, kind: t.kind, urlEnv: t.urlEnv };
          try {
            const r = await notifying.deliverNotification({ environment, event: facts.event, target, body });
            record({
              ...base,
              status: 'delivered',
              attempts: r.attempt,
              httpStatus: r.httpStatus,
              error: null,
              at: new Date().toISOString(),
            });
          } catch (err) {
            const cause = err instanceof ActivityFailure ? err.cause : err;
            // The activity puts its attempt and the receiver's status in the last failure's details.
            const report = cause instanceof ApplicationFailure ? (cause.details?.[0] as DeliveryReport | undefined) : undefined;
            record({
              ...base,
              status: 'failed',
              attempts: report?.attempt ?? NOTIFY_MAX_ATTEMPTS,
              httpStatus: report?.httpStatus ?? null,
              error: excerpt((cause as Error | undefined)?.message ?? String(err), 500),
              at: new Date().toISOString(),
            });
          }
        });
        pending.push(delivery);
      }
    },
    async settle() {
      while (pending.length) await Promise.all(pending.splice(0));
    },
  };
}
