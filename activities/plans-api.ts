/**
 * Spot checks against the planning application's `/plans` API (the application is a separate service,
 * not part of plandb): the list answers, and each representative plan's page answers and names the plan.
 */
import { redactUrl } from '../config/environment';
import { DEFAULT_HTTP_TIMEOUT_MS, fetchWithTimeout } from './http';

export interface HttpCheck {
  url: string;
  /** null when no response came back. */
  status: number | null;
  ok: boolean;
  ms: number;
  error: string | null;
}

/** The body names the plan, as raw text or JSON-escaped. */
export function mentionsPlan(body: string, planId: string): boolean {
  return body.includes(planId) || body.includes(JSON.stringify(planId).slice(1, -1));
}

async function check(url: string, planId: string | null, timeoutMs: number): Promise<HttpCheck> {
  const started = performance.now();
  const result = (status: number | null, error: string | null): HttpCheck => ({
    url: redactUrl(url),
    status,
    ok: error === null,
    ms: Math.round(performance.now() - started),
    error,
  });
  let status: number | null = null;
  try {
    const res = await fetchWithTimeout(url, { headers: { accept: 'application/json' } }, timeoutMs);
    status = res.status;
    const body = await res.text();
    if (status !== 200) return result(status, `expected HTTP 200, got ${status}`);
    if (planId !== null && !mentionsPlan(body, planId)) return result(status, `the response does not mention plan ${planId}`);
    return result(status, null);
  } catch (err) {
    // The application being down is a finding of the check, not an error of the activity.
    return result(status, (err as Error).message);
  }
}

/** GET `<base>/plans`, then `<base>/plans/<id>` for each plan; one result per request. */
export async function checkPlansApi(
  baseUrl: string,
  planIds: readonly string[],
  timeoutMs = DEFAULT_HTTP_TIMEOUT_MS,
): Promise<HttpCheck[]> {
  const base = baseUrl.replace(/\/+$/, '');
  const checks = [await check(`${base}/plans`, null, timeoutMs)];
  for (const planId of planIds) checks.push(await check(`${base}/plans/${encodeURIComponent(planId)}`, planId, timeoutMs));
  return checks;
}
