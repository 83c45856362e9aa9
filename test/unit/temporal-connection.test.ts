import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ConfigError, loadConfig } from '../../config/load';
import { cannotReachTemporal, resolveTemporalConnection, temporalConnectOptions } from '../../config/temporal-connection';

let dir: string;
let plandbConfig: string;
const FILE_DEFAULTS = { address: 'from-plandb-config:7233', namespace: 'plandb-file-ns' };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'plandb-temporal-conn-'));
  plandbConfig = file('plandb.config.json', JSON.stringify({ temporal: FILE_DEFAULTS, environments: { dev: { databaseUrlEnv: 'X' } } }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    resolveTemporalConnection(FILE_DEFAULTS, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const TOML = `
[profile.default]
address = "from-profile:7233"
namespace = "profile-ns"

[profile.cloud]
address = "acct.tmprl.cloud:7233"
namespace = "prod.acct"
api_key = "profile-secret-key"
`;

describe('Temporal connection: precedence', () => {
  it('uses plandb.config.json when neither variables nor a temporal.toml say otherwise: plaintext, no credentials', () => {
    const config = loadConfig({ path: plandbConfig, env: {} });
    expect(config.temporal).toEqual({ ...FILE_DEFAULTS, taskQueue: 'plan-db-migration' });
    expect(temporalConnectOptions(config.temporal)).toEqual({ address: FILE_DEFAULTS.address });
  });

  it('a temporal.toml profile overrides the plandb file, and TEMPORAL_ADDRESS/TEMPORAL_NAMESPACE override the profile', () => {
    const toml = file('default.toml', TOML);
    expect(loadConfig({ path: plandbConfig, env: { TEMPORAL_CONFIG_FILE: toml } }).temporal).toMatchObject({
      address: 'from-profile:7233',
      namespace: 'profile-ns',
    });
    const env = { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_ADDRESS: 'from-env:7233', TEMPORAL_NAMESPACE: '' };
    // An empty variable counts as unset, as plandb always did.
    expect(loadConfig({ path: plandbConfig, env }).temporal).toMatchObject({ address: 'from-env:7233', namespace: 'profile-ns' });
  });

  it('finds temporal.toml in the user config directory, like the Temporal CLI', () => {
    const xdg = join(dir, 'xdg-config');
    mkdirSync(join(xdg, 'temporalio'), { recursive: true });
    writeFileSync(join(xdg, 'temporalio', 'temporal.toml'), TOML);
    expect(resolveTemporalConnection(FILE_DEFAULTS, { XDG_CONFIG_HOME: xdg }).address).toBe('from-profile:7233');
  });

  it('TEMPORAL_PROFILE picks a profile; an API key turns TLS on', () => {
    const env = { TEMPORAL_CONFIG_FILE: file('cloud.toml', TOML), TEMPORAL_PROFILE: 'cloud' };
    const resolved = resolveTemporalConnection(FILE_DEFAULTS, env);
    expect(resolved).toMatchObject({ address: 'acct.tmprl.cloud:7233', namespace: 'prod.acct' });
    expect(temporalConnectOptions(resolved)).toEqual({ address: 'acct.tmprl.cloud:7233', apiKey: 'profile-secret-key', tls: true });
    expect(resolved.credentials?.tls).toBe(true);
  });

  it('TEMPORAL_API_KEY overrides the profile key', () => {
    const env = { TEMPORAL_CONFIG_FILE: file('cloud2.toml', TOML), TEMPORAL_PROFILE: 'cloud', TEMPORAL_API_KEY: 'env-key' };
    expect(temporalConnectOptions(resolveTemporalConnection(FILE_DEFAULTS, env)).apiKey).toBe('env-key');
  });

  it('TEMPORAL_GRPC_META_* become request headers', () => {
    const resolved = resolveTemporalConnection(FILE_DEFAULTS, { TEMPORAL_GRPC_META_X_TENANT: 'plans' });
    expect(temporalConnectOptions(resolved).metadata).toEqual({ 'x-tenant': 'plans' });
  });
});

describe('Temporal connection: TLS from TEMPORAL_TLS_*', () => {
  it('reads the client certificate, key and server CA files, and the server name', () => {
    const env = {
      TEMPORAL_TLS_CLIENT_CERT_PATH: file('client.pem', 'CERT'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: file('client.key', 'KEY'),
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.pem', 'CA'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    };
    const resolved = resolveTemporalConnection(FILE_DEFAULTS, env);
    const tls = temporalConnectOptions(resolved).tls;
    expect(tls).toEqual({
      serverNameOverride: 'temporal.internal',
      serverRootCACertificate: Buffer.from('CA'),
      clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') },
    });
    expect(resolved.credentials?.tls).toBe(true);
  });

  it('TEMPORAL_TLS=true alone uses the system roots', () => {
    expect(temporalConnectOptions(resolveTemporalConnection(FILE_DEFAULTS, { TEMPORAL_TLS: 'true' })).tls).toBeTruthy();
  });

  it('TEMPORAL_TLS=false turns TLS off even with an API key', () => {
    const resolved = resolveTemporalConnection(FILE_DEFAULTS, { TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' });
    expect(temporalConnectOptions(resolved)).toEqual({ address: FILE_DEFAULTS.address, apiKey: 'k' });
    expect(resolved.credentials?.tls).toBe(false);
  });
});

describe('Temporal connection: secrets stay out of logs', () => {
  it('JSON and util.inspect of the config show whether TLS and an API key are used, not their values', () => {
    const env = {
      TEMPORAL_API_KEY: 'sk-very-secret',
      TEMPORAL_TLS_CLIENT_CERT_PATH: file('c2.pem', 'CERT'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: file('c2.key', 'PRIVATE-KEY-BYTES'),
    };
    const config = loadConfig({ path: plandbConfig, env });
    for (const text of [JSON.stringify(config), inspect(config, { depth: 10 })]) {
      expect(text).not.toContain('sk-very-secret');
      expect(text).not.toContain('PRIVATE-KEY-BYTES');
      expect(text).toContain('"tls":true');
    }
    expect(JSON.parse(JSON.stringify(config.temporal)).credentials).toEqual({ tls: true, apiKey: true });
  });
});

describe('Temporal connection: bad settings stop the start, naming the variable', () => {
  it.each([
    [{ TEMPORAL_TLS: 'yes' }, 'environment variable TEMPORAL_TLS must be true, false, 1 or 0'],
    [
      { TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'on' },
      'environment variable TEMPORAL_TLS_DISABLE_HOST_VERIFICATION must be true, false, 1 or 0',
    ],
    [{ TEMPORAL_TLS_CLIENT_CERT_PATH: '/nonexistent/client.pem' }, 'TEMPORAL_TLS_CLIENT_CERT_PATH: file /nonexistent/client.pem not found'],
    [{ TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/nonexistent/ca.pem' }, 'TEMPORAL_TLS_SERVER_CA_CERT_PATH: file /nonexistent/ca.pem not found'],
  ])('%j', (env, message) => {
    expect(configError(env).message).toBe(message);
  });

  it('a certificate without its key', () => {
    expect(configError({ TEMPORAL_TLS_CLIENT_CERT_PATH: file('lonely.pem', 'CERT') }).message).toBe(
      'a client certificate needs both a certificate and a key: TEMPORAL_TLS_CLIENT_KEY_PATH (or _DATA) is not set',
    );
  });

  it('disabling host verification, which the TypeScript SDK cannot do', () => {
    expect(configError({ TEMPORAL_TLS: 'true', TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' }).message).toMatch(
      /^TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported .* set TEMPORAL_TLS_SERVER_NAME/,
    );
  });

  it('an unknown TEMPORAL_PROFILE', () => {
    const toml = file('p.toml', TOML);
    expect(configError({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'staging' }).message).toBe(
      `TEMPORAL_PROFILE: Profile 'staging' not found in config data (TEMPORAL_CONFIG_FILE=${toml})`,
    );
  });

  it('a temporal.toml that is not TOML', () => {
    const toml = file('bad.toml', '[profile.default\naddress = ');
    expect(configError({ TEMPORAL_CONFIG_FILE: toml }).message).toMatch(new RegExp(`^cannot load TEMPORAL_CONFIG_FILE=${toml}: `));
  });

  it('a missing temporal.toml file at a path given in the profile', () => {
    const toml = file(
      'paths.toml',
      '[profile.default.tls]\nclient_cert_path = "/nonexistent/c.pem"\nclient_key_path = "/nonexistent/c.key"\n',
    );
    expect(configError({ TEMPORAL_CONFIG_FILE: toml }).message).toBe(
      'temporal.toml tls.client_cert_path: file /nonexistent/c.pem not found',
    );
  });
});

describe('Temporal connection: a failed connect says where to and how', () => {
  const cause = new Error('Failed to connect');
  it.each([
    [{}, 'plaintext'],
    [{ TEMPORAL_API_KEY: 'k' }, 'TLS on, no client certificate, API key'],
    [{ TEMPORAL_TLS_CLIENT_CERT_PATH: 'CERT', TEMPORAL_TLS_CLIENT_KEY_PATH: 'KEY' }, 'TLS on, client certificate'],
  ])('%j', (vars, how) => {
    const env = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, k.endsWith('_PATH') ? file(`${v}.pem`, v) : v]));
    const error = cannotReachTemporal(resolveTemporalConnection(FILE_DEFAULTS, env), cause);
    expect(error.message).toBe(`cannot reach Temporal at ${FILE_DEFAULTS.address} (${how}: Failed to connect)`);
  });
});
