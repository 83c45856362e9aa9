/**
 * The worker's start-up check of notification targets: a webhook whose variable is unset (or holds no
 * http(s) URL) fails every delivery of its environment, so the worker says so before any migration
 * runs. Variable names only: the values are secrets.
 */
import type { EnvironmentConfig } from './schema';

/** One warning naming each environment's unusable webhook variables, or null when all are usable. */
export function webhookVariablesWarning(
  environments: Record<string, Pick<EnvironmentConfig, 'notifications'>>,
  env: NodeJS.ProcessEnv,
): string | null {
  const problems = Object.entries(environments).flatMap(([name, e]) =>
    e.notifications.flatMap((t, index) => {
      const value = env[t.urlEnv]?.trim();
      if (!value) return [`${name} target ${index} (${t.kind}): ${t.urlEnv} is not set`];
      if (!/^https?:\/\//i.test(value) || !URL.canParse(value))
        return [`${name} target ${index} (${t.kind}): ${t.urlEnv} does not hold an http(s) URL`];
      return [];
    }),
  );
  return problems.length ? `notifications will fail: ${problems.join('; ')}` : null;
}
