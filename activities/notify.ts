/**
 * The `deliverNotification` activity: POSTs one migration event to one webhook. The URL is a secret
 * (a Slack webhook's path is its credential): it is read here from the variable the config names and
 * appears in no error, log line or evidence, which name the target by index, kind and variable.
 * Failures carry a DeliveryReport as details, so the workflow records the last attempt's status.
 */
import { ApplicationFailure } from '@temporalio/common';
import {
  NOTIFY_HTTP_TIMEOUT_MS,
  NOTIFY_MAX_ATTEMPTS,
  NOTIFY_RESPONSE_CAP,
  retryableHttpStatus,
  type DeliverNotificationInput,
  type DeliveryReport,
} from '../model/notifications';
import { excerpt } from '../model/text';
import type { ActivityDeps } from './deps';
import { activityContext } from './heartbeat';

/** At most `cap` bytes of the body, as text; the rest is not read. */
async function readCapped(res: Response, cap: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < cap) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, cap).toString('utf8');
}

/** Why a fetch failed, without the URL: undici's cause code (ECONNREFUSED, ENOTFOUND…) or the timeout. */
function fetchFailure(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: string; name?: string } };
  if (e.name === 'TimeoutError') return `timed out after ${NOTIFY_HTTP_TIMEOUT_MS} ms`;
  return e.cause?.code ?? e.cause?.name ?? e.name ?? 'network error';
}

export function createNotifyActivities(deps: ActivityDeps) {
  async function deliverNotification(input: DeliverNotificationInput): Promise<DeliveryReport> {
    const { environment, event, target } = input;
    const attempt = activityContext()?.info.attempt ?? 1;
    const label = `notification target ${target.index} (${target.kind}, ${target.urlEnv})`;
    const failure = (message: string, httpStatus: number | null, retryable: boolean): ApplicationFailure => {
      const last = !retryable || attempt >= NOTIFY_MAX_ATTEMPTS;
      if (last) deps.metrics.notificationsTotal.inc({ environment, event, outcome: 'failed' });
      deps.logger.warn({ event: 'notification_failed', environment, notification: event, target: target.index, attempt, last, message });
      const report: DeliveryReport = { attempt, httpStatus };
      return retryable
        ? ApplicationFailure.retryable(message, 'NotificationFailed', report)
        : ApplicationFailure.nonRetryable(message, 'NotificationFailed', report);
    };

    const url = deps.env[target.urlEnv]?.trim();
    if (!url) throw failure(`${label}: environment variable ${target.urlEnv} is not set on the worker`, null, false);
    if (!/^https?:\/\//i.test(url) || !URL.canParse(url))
      throw failure(`${label}: environment variable ${target.urlEnv} does not hold an http:// or https:// URL`, null, false);

    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input.body),
        signal: AbortSignal.timeout(NOTIFY_HTTP_TIMEOUT_MS),
      });
    } catch (err) {
      throw failure(`${label}: POST failed: ${fetchFailure(err)}`, null, true);
    }
    const text = await readCapped(res, NOTIFY_RESPONSE_CAP).catch(() => '');
    if (!res.ok) {
      const answer = text.trim() ? `: ${excerpt(text.trim(), 200)}` : '';
      throw failure(`${label} answered HTTP ${res.status}${answer}`, res.status, retryableHttpStatus(res.status));
    }
    deps.metrics.notificationsTotal.inc({ environment, event, outcome: 'delivered' });
    deps.logger.info({
      event: 'notification_delivered',
      environment,
      notification: event,
      target: target.index,
      attempt,
      status: res.status,
    });
    return { attempt, httpStatus: res.status };
  }

  return { deliverNotification };
}
