/** HTTP calls from activities (the application's /plans API, its maintenance switch): global fetch with a deadline. */
import { redactUrl } from '../config/environment';

export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;

export class HttpError extends Error {
  override name = 'HttpError';
}

/**
 * fetch that gives up after `timeoutMs`. Network failures and timeouts become an HttpError whose
 * message names the method and the URL without credentials, never a header.
 */
export async function fetchWithTimeout(url: string, init: RequestInit = {}, timeoutMs = DEFAULT_HTTP_TIMEOUT_MS): Promise<Response> {
  const method = init.method ?? 'GET';
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error;
    const why = e.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : `${e.message}${causeOf(e)}`;
    throw new HttpError(`${method} ${redactUrl(url)} failed: ${why}`);
  }
}

/** undici puts the useful part ("connect ECONNREFUSED ...") in `cause`. */
function causeOf(e: Error): string {
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error ? ` (${cause.message})` : '';
}
