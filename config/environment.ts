/**
 * Looks up one environment's settings and resolves its database URL from the variable the config
 * names. The URL is a credential: it is read only here, in the process that connects, and no error
 * message carries any part of it.
 */
import { ConfigError } from './errors';
import type { EnvironmentConfig } from './schema';

/** Generic over the entry type so callers holding a partial config (tests, tools) keep their type. */
export function getEnvironment<E>(config: { environments: Record<string, E> }, name: string): E {
  // hasOwn, so names like "constructor" do not resolve to Object.prototype members.
  if (!Object.hasOwn(config.environments, name)) {
    const known = Object.keys(config.environments).join(', ');
    throw new ConfigError(`unknown environment ${JSON.stringify(name)} (known: ${known})`);
  }
  return config.environments[name];
}

const POSTGRES_URL_PREFIX = /^postgres(?:ql)?:\/\//i;

export function resolveDatabaseUrl(
  envConfig: Pick<EnvironmentConfig, 'databaseUrlEnv'>,
  envName: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const variable = envConfig.databaseUrlEnv;
  const key = `environments.${envName}.databaseUrlEnv`;
  const url = env[variable]?.trim();
  if (!url) {
    throw new ConfigError(
      `${key}: environment variable ${variable} is not set; ` +
        `export ${variable}=postgres://USER:PASSWORD@HOST:5432/DATABASE`,
    );
  }
  if (!POSTGRES_URL_PREFIX.test(url) || !URL.canParse(url)) {
    throw new ConfigError(
      `${key}: environment variable ${variable} does not hold a postgres:// or postgresql:// URL ` +
        '(expected postgres://USER:PASSWORD@HOST:5432/DATABASE)',
    );
  }
  return url;
}

const REDACTED = '***';

/** The URL with its password (in the user info or a `password` query parameter) replaced, for logs. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Cannot tell which part is secret, so show none of it.
    return '[unparseable URL redacted]';
  }
  if (parsed.password) parsed.password = REDACTED;
  for (const name of [...parsed.searchParams.keys()]) {
    if (/pass/i.test(name)) parsed.searchParams.set(name, REDACTED);
  }
  return parsed.toString();
}
