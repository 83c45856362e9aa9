/**
 * The Temporal connection, resolved the way every Temporal client resolves it (the SDK's
 * `@temporalio/envconfig`: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*,
 * TEMPORAL_GRPC_META_*, profiles in temporal.toml via TEMPORAL_CONFIG_FILE/TEMPORAL_PROFILE), with
 * plandb's config file as the fallback for address and namespace:
 *
 *   environment variable > temporal.toml profile > plandb.config.json `temporal.*` > built-in default
 */
import { existsSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile, type ConfigDataSource } from '@temporalio/envconfig';
import { ConfigError } from './errors';

/**
 * TLS, API key and gRPC headers. Kept out of reach of JSON (logs, workflow inputs): `toJSON` and
 * `util.inspect` show only whether TLS and an API key are in use.
 */
export class TemporalCredentials {
  readonly #options: TemporalSecretOptions;

  constructor(options: TemporalSecretOptions) {
    this.#options = options;
  }

  /** TLS is on when configured, and always with an API key (the SDK's rule). */
  get tls(): boolean {
    return Boolean(this.#options.tls);
  }

  get hasApiKey(): boolean {
    return this.#options.apiKey !== undefined;
  }

  get hasClientCertificate(): boolean {
    return typeof this.#options.tls === 'object' && this.#options.tls.clientCertPair !== undefined;
  }

  /** For `Connection.connect` and `NativeConnection.connect`. */
  connectionOptions(): TemporalSecretOptions {
    return this.#options;
  }

  toJSON(): { tls: boolean; apiKey: boolean } {
    return { tls: this.tls, apiKey: this.hasApiKey };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `TemporalCredentials ${JSON.stringify(this.toJSON())}`;
  }
}

export interface TemporalSecretOptions {
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
}

export interface ResolvedTemporalConnection {
  address: string;
  namespace: string;
  /** Absent for a plaintext connection without API key or headers (the dev server). */
  credentials?: TemporalCredentials;
}

const BOOLEAN_VARIABLES = ['TEMPORAL_TLS', 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION'] as const;
const BOOLEAN_VALUES = new Set(['1', '0', 'true', 'false']);

/** Resolves the connection from `env` and the temporal.toml it points at; throws ConfigError naming the bad variable or key. */
export function resolveTemporalConnection(
  fallback: { address: string; namespace: string },
  env: NodeJS.ProcessEnv,
): ResolvedTemporalConnection {
  const vars = definedVariables(env);
  for (const name of BOOLEAN_VARIABLES) {
    // envconfig reads any other value as false: "yes" would silently turn TLS off.
    if (vars[name] !== undefined && !BOOLEAN_VALUES.has(vars[name])) {
      throw new ConfigError(`environment variable ${name} must be true, false, 1 or 0`);
    }
  }
  const profile = loadProfile(vars);
  checkTls(profile, vars);
  const { connectionOptions, namespace } = toClientOptions(profile);
  const secrets: TemporalSecretOptions = {
    ...(connectionOptions.tls ? { tls: connectionOptions.tls } : {}),
    ...(profile.apiKey !== undefined ? { apiKey: profile.apiKey } : {}),
    ...(profile.grpcMeta && Object.keys(profile.grpcMeta).length > 0 ? { metadata: profile.grpcMeta } : {}),
  };
  return {
    address: connectionOptions.address ?? fallback.address,
    namespace: namespace ?? fallback.namespace,
    ...(Object.keys(secrets).length > 0 ? { credentials: new TemporalCredentials(secrets) } : {}),
  };
}

/** Empty variables count as unset, as plandb always treated TEMPORAL_ADDRESS=""; envconfig would take "" as a value. */
function definedVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && (entry[1] !== '' || entry[0].startsWith('TEMPORAL_GRPC_META_')),
    ),
  );
}

function loadProfile(vars: Record<string, string>): ClientConfigProfile {
  try {
    return loadClientConfigProfile({ overrideEnvVars: vars });
  } catch (error) {
    const where = vars.TEMPORAL_CONFIG_FILE ? `TEMPORAL_CONFIG_FILE=${vars.TEMPORAL_CONFIG_FILE}` : 'the default temporal.toml';
    const message = (error as Error).message;
    if (/^Profile '.*' not found/.test(message)) {
      throw new ConfigError(`TEMPORAL_PROFILE: ${message} (${where})`);
    }
    throw new ConfigError(`cannot load ${where}: ${message}`);
  }
}

/** The SDK would read these files later and fail with a bare ENOENT, or drop a certificate without its key. */
function checkTls(profile: ClientConfigProfile, vars: Record<string, string>): void {
  const tls = profile.tls;
  if (!tls || tls.disabled) return;
  if (vars.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === 'true' || vars.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === '1') {
    throw new ConfigError(
      'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported by the TypeScript SDK: set TEMPORAL_TLS_SERVER_NAME to the name in the server certificate instead',
    );
  }
  const files: [ConfigDataSource | undefined, string, string][] = [
    [tls.clientCert, 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'tls.client_cert_path'],
    [tls.clientKey, 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'tls.client_key_path'],
    [tls.serverCACert, 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'tls.server_ca_cert_path'],
  ];
  for (const [source, variable, key] of files) {
    if (source && 'path' in source && !existsSync(source.path)) {
      const name = vars[variable] !== undefined ? variable : `temporal.toml ${key}`;
      throw new ConfigError(`${name}: file ${source.path} not found`);
    }
  }
  if (Boolean(tls.clientCert) !== Boolean(tls.clientKey)) {
    const missing = tls.clientCert ? 'TEMPORAL_TLS_CLIENT_KEY_PATH (or _DATA)' : 'TEMPORAL_TLS_CLIENT_CERT_PATH (or _DATA)';
    throw new ConfigError(`a client certificate needs both a certificate and a key: ${missing} is not set`);
  }
}

/** The options `Connection.connect` and `NativeConnection.connect` both take. */
export function temporalConnectOptions(temporal: ResolvedTemporalConnection): { address: string } & TemporalSecretOptions {
  return { address: temporal.address, ...temporal.credentials?.connectionOptions() };
}

/** A failed connect, saying where to and how (a refused client certificate looks like any broken connection). */
export function cannotReachTemporal(temporal: ResolvedTemporalConnection, err: Error): Error {
  const cert = temporal.credentials?.hasClientCertificate ? 'client certificate' : 'no client certificate';
  const how = temporal.credentials?.tls ? `TLS on, ${cert}` : 'plaintext';
  const key = temporal.credentials?.hasApiKey ? ', API key' : '';
  return new Error(`cannot reach Temporal at ${temporal.address} (${how}${key}: ${err.message})`, { cause: err });
}
