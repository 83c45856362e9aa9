import { getEnvironment, redactUrl, resolveDatabaseUrl } from '../../config/environment';
import { ConfigError } from '../../config/errors';

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('getEnvironment', () => {
  const dev = { databaseUrlEnv: 'D' };
  const config = { environments: { dev, staging: { databaseUrlEnv: 'S' }, production: { databaseUrlEnv: 'P' } } };

  it('returns the named environment', () => {
    expect(getEnvironment(config, 'dev')).toBe(dev);
  });

  it('names the unknown environment and lists the known ones in file order', () => {
    expect(thrown(() => getEnvironment(config, 'foo')).message).toBe(
      'unknown environment "foo" (known: dev, staging, production)',
    );
  });

  it('does not resolve Object.prototype members as environments', () => {
    expect(thrown(() => getEnvironment(config, 'constructor')).message).toMatch(/^unknown environment "constructor"/);
  });
});

describe('resolveDatabaseUrl', () => {
  const envConfig = { databaseUrlEnv: 'PLANDB_DEV_DATABASE_URL' };

  it('reads the URL from the named variable', () => {
    const url = 'postgres://plandb:pw@localhost:5432/plans';
    expect(resolveDatabaseUrl(envConfig, 'dev', { PLANDB_DEV_DATABASE_URL: url })).toBe(url);
    expect(resolveDatabaseUrl(envConfig, 'dev', { PLANDB_DEV_DATABASE_URL: 'postgresql:///plans?host=/run/pg' })).toBe(
      'postgresql:///plans?host=/run/pg',
    );
  });

  it.each([[{}], [{ PLANDB_DEV_DATABASE_URL: '' }], [{ PLANDB_DEV_DATABASE_URL: '   ' }]])(
    'names the config key and the variable when it is unset or empty (%j)',
    (env) => {
      const message = thrown(() => resolveDatabaseUrl(envConfig, 'dev', env)).message;
      expect(message).toMatch(/^environments\.dev\.databaseUrlEnv: environment variable PLANDB_DEV_DATABASE_URL is not set/);
    },
  );

  it.each([
    'mysql://root:hunter2@db/plans',
    'hunter2',
    'postgres:hunter2@db',
    'postgres://hunter2@[bad',
  ])('rejects %s without echoing any of it', (value) => {
    const message = thrown(() => resolveDatabaseUrl(envConfig, 'staging', { PLANDB_DEV_DATABASE_URL: value })).message;
    expect(message).toMatch(
      /^environments\.staging\.databaseUrlEnv: environment variable PLANDB_DEV_DATABASE_URL does not hold a postgres:\/\/ or postgresql:\/\/ URL/,
    );
    expect(message).not.toContain('hunter2');
  });

  it('defaults to process.env', () => {
    const name = 'PLANDB_CONFIG_TEST_DATABASE_URL';
    process.env[name] = 'postgres://localhost/plans';
    try {
      expect(resolveDatabaseUrl({ databaseUrlEnv: name }, 'dev')).toBe('postgres://localhost/plans');
    } finally {
      delete process.env[name];
    }
  });
});

describe('redactUrl', () => {
  it('hides the password and keeps the rest', () => {
    expect(redactUrl('postgres://plandb:s3cret@db.internal:5432/plans?sslmode=require')).toBe(
      'postgres://plandb:***@db.internal:5432/plans?sslmode=require',
    );
  });

  it('hides a password passed as a query parameter', () => {
    const redacted = redactUrl('postgresql://db/plans?user=app&password=s3cret');
    expect(redacted).not.toContain('s3cret');
    expect(redacted).toBe('postgresql://db/plans?user=app&password=***');
  });

  it('leaves a URL without credentials unchanged', () => {
    expect(redactUrl('postgres://db.internal:5432/plans')).toBe('postgres://db.internal:5432/plans');
  });

  it('shows nothing of a value it cannot parse', () => {
    expect(redactUrl('host=db password=s3cret')).toBe('[unparseable URL redacted]');
  });
});
