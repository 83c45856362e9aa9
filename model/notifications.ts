/**
 * Webhook notifications of an environment migration: the events, the targets as the workflow knows
 * them (by index, kind and the name of the variable holding the URL — the URL itself is a secret the
 * worker reads) and what one delivery recorded. Pure (workflows, activities and config import it).
 */

export const NOTIFICATION_EVENTS = ['gate-opened', 'maintenance-on', 'maintenance-off', 'step-failed', 'migration-completed'] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** `json`: `{event, environment, workflowId, ...details, text}`; `slack`: an incoming webhook's `{"text": ...}`. */
export const NOTIFICATION_KINDS = ['json', 'slack'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** Attempts of one delivery (the activity's retry policy and its metric agree on the last one). */
export const NOTIFY_MAX_ATTEMPTS = 5;
/** One POST's deadline; the activity's start-to-close timeout leaves room for it. */
export const NOTIFY_HTTP_TIMEOUT_MS = 5_000;
/** Bytes of a receiver's response kept for the evidence (a failing receiver may answer with a whole page). */
export const NOTIFY_RESPONSE_CAP = 500;

/** A configured webhook, as it travels in the policy: never the URL. */
export interface NotificationTarget {
  /** Position in the environment's `notifications` list: how the evidence names the target. */
  index: number;
  kind: NotificationKind;
  urlEnv: string;
  events: NotificationEvent[];
}

/** The deliverNotification activity's input. */
export interface DeliverNotificationInput {
  environment: string;
  event: NotificationEvent;
  target: Pick<NotificationTarget, 'index' | 'kind' | 'urlEnv'>;
  body: Record<string, unknown>;
}

/** A delivery's outcome: returned on success, carried as the failure's details on the last failed attempt. */
export interface DeliveryReport {
  attempt: number;
  /** The receiver's HTTP status; null when none answered (refused, timed out, variable not set). */
  httpStatus: number | null;
}

/** One delivery in the evidence (`plan_migration_steps` row of kind `notification`). */
export interface NotificationRecord {
  event: NotificationEvent;
  target: number;
  kind: NotificationKind;
  urlEnv: string;
  status: 'delivered' | 'failed';
  attempts: number;
  httpStatus: number | null;
  error: string | null;
  at: string;
}

/** The targets that want `event`, in configured order. */
export const targetsFor = (targets: readonly NotificationTarget[] | undefined, event: NotificationEvent): NotificationTarget[] =>
  (targets ?? []).filter((t) => t.events.includes(event));

/** HTTP statuses a retry may fix: rate limits, timeouts and the receiver's own errors. */
export const retryableHttpStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500;
