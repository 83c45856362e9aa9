/**
 * pg_dump and pg_restore: where they are, which version they are, and running them. The connection
 * goes to them through PG* environment variables built from the URL, never as arguments: arguments
 * are visible to every user in `ps`, and they end up in error messages.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { redactUrl } from '../config/environment';
import { redactSecrets } from '../logging/redact';
import { isExecutable } from '../platform/executables';

export const PG_BIN_DIR_ENV = 'PLANDB_PG_BIN_DIR';
export const DEBIAN_PG_ROOT = '/usr/lib/postgresql';

export interface PgTools {
  pgDump: string;
  pgRestore: string;
}

export interface PgToolVersion {
  /** e.g. "15.20" */
  version: string;
  major: number;
}

/** A tool that is missing or too old: installing or pointing at another one fixes it, a retry does not. */
export class PgToolsError extends Error {
  constructor(message: string, name = 'PgToolsNotFound') {
    super(message);
    this.name = name;
  }
}

export class PgDumpTooOldError extends PgToolsError {
  constructor(message: string) {
    super(message, 'PgDumpTooOld');
  }
}

/** A tool that ran and failed; the message carries its (redacted) stderr. */
export class PgToolRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PgToolRunError';
  }
}

function toolsIn(dir: string): PgTools | null {
  const tools = { pgDump: path.join(dir, 'pg_dump'), pgRestore: path.join(dir, 'pg_restore') };
  return isExecutable(tools.pgDump) && isExecutable(tools.pgRestore) ? tools : null;
}

/**
 * `$PLANDB_PG_BIN_DIR`, else the highest Debian `/usr/lib/postgresql/<N>/bin` (the real binaries:
 * /usr/bin/pg_dump is Debian's wrapper, which may pick another version), else the first PATH entry
 * holding both.
 */
export function locatePgTools(env: NodeJS.ProcessEnv = process.env, debianRoot = DEBIAN_PG_ROOT): PgTools {
  const configured = env[PG_BIN_DIR_ENV];
  if (configured) {
    const tools = toolsIn(configured);
    if (!tools) throw new PgToolsError(`${PG_BIN_DIR_ENV}=${configured} does not hold executable pg_dump and pg_restore`);
    return tools;
  }
  const majors = (fs.existsSync(debianRoot) ? fs.readdirSync(debianRoot) : [])
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  const candidates = [
    ...majors.map((major) => path.join(debianRoot, major, 'bin')),
    ...(env.PATH ?? '').split(path.delimiter).filter(Boolean),
  ];
  for (const dir of candidates) {
    const tools = toolsIn(dir);
    if (tools) return tools;
  }
  throw new PgToolsError(
    `pg_dump/pg_restore not found (looked in ${PG_BIN_DIR_ENV}, ${debianRoot}/<N>/bin and PATH): ` +
      `install the client matching the server (e.g. apt-get install -y postgresql-client-15) or set ${PG_BIN_DIR_ENV}`,
  );
}

/** Parses `pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)`, `pg_restore (PostgreSQL) 17beta1`, ... */
export function parsePgToolVersion(output: string): PgToolVersion {
  const match = /\(PostgreSQL\)\s+((\d+)[0-9a-z.]*)/.exec(output);
  if (!match) {
    throw new PgToolsError(`cannot read a PostgreSQL version from ${JSON.stringify(output.trim().slice(0, 200))}`, 'PgToolVersionUnknown');
  }
  return { version: match[1], major: Number(match[2]) };
}

/** "15.18" from server_version_num 150018 (the numbering of PostgreSQL 10 and later). */
export function serverVersionFromNum(versionNum: number): { version: string; major: number } {
  const major = Math.floor(versionNum / 10_000);
  return { version: `${major}.${versionNum % 10_000}`, major };
}

/**
 * pg_dump refuses to dump a server of a newer major version than its own; say so before running it,
 * with both versions and the fix.
 */
export function checkDumpCompatible(dumpMajor: number, serverVersionNum: number, pgDumpLabel = `pg_dump ${dumpMajor}`): void {
  const server = serverVersionFromNum(serverVersionNum);
  if (dumpMajor >= server.major) return;
  throw new PgDumpTooOldError(
    `${pgDumpLabel} cannot back up the PostgreSQL ${server.version} server: pg_dump refuses servers newer than itself. ` +
      `Install postgresql-client-${server.major} (apt-get install -y postgresql-client-${server.major}) ` +
      `or set ${PG_BIN_DIR_ENV} to a directory holding pg_dump and pg_restore ${server.major} or newer.`,
  );
}

/** URL query parameters libpq reads from the environment too. */
const QUERY_PARAMS_TO_ENV: Record<string, string> = {
  host: 'PGHOST',
  port: 'PGPORT',
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  connect_timeout: 'PGCONNECT_TIMEOUT',
};

/** PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE (and PGSSLMODE etc. when the URL has them). */
export function pgEnvFromUrl(url: string): Record<string, string> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PgToolsError('the database URL cannot be parsed', 'InvalidDatabaseUrl');
  }
  const out: Record<string, string> = {};
  // An IPv6 host comes back bracketed; libpq wants it bare.
  if (parsed.hostname) out.PGHOST = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (parsed.port) out.PGPORT = parsed.port;
  if (parsed.username) out.PGUSER = decodeURIComponent(parsed.username);
  if (parsed.password) out.PGPASSWORD = decodeURIComponent(parsed.password);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database) out.PGDATABASE = database;
  for (const [param, variable] of Object.entries(QUERY_PARAMS_TO_ENV)) {
    const value = parsed.searchParams.get(param);
    if (value) out[variable] = value;
  }
  return out;
}

/** Replaces the password (raw and URL-encoded) and any postgres URL in tool output. */
export function redactToolOutput(text: string, connection: Record<string, string> = {}): string {
  return redactSecrets(
    text.replace(/postgres(?:ql)?:\/\/\S+/gi, (url) => redactUrl(url)),
    [connection.PGPASSWORD],
  );
}

export interface RunPgToolOptions {
  /** PG* variables of the connection (pgEnvFromUrl); omitted for tools that read only files. */
  connection?: Record<string, string>;
  /** Kills the tool (activity cancellation). */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

const STDERR_KEEP = 8_000;

/** Runs a tool, resolves with its stdout; a non-zero exit rejects with its redacted stderr. */
export function runPgTool(binary: string, args: string[], opts: RunPgToolOptions = {}): Promise<string> {
  // The caller's own PG* variables (PGSERVICE, PGPASSFILE, ...) must not redirect the connection.
  const inherited = Object.fromEntries(Object.entries(opts.env ?? process.env).filter(([key]) => !key.startsWith('PG')));
  const child = spawn(binary, args, {
    env: { ...inherited, PGAPPNAME: 'plandb', ...opts.connection },
    stdio: ['ignore', 'pipe', 'pipe'],
    signal: opts.signal,
  });
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => {
    // Keep the tail: the last lines say why it stopped.
    stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEEP);
  });
  const what = `${path.basename(binary)} ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    child.on('error', (err) => reject(new PgToolRunError(`${what}: ${redactToolOutput(err.message, opts.connection)}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(Buffer.concat(stdout).toString('utf8'));
      const detail = redactToolOutput(stderr.trim(), opts.connection) || '(no output)';
      reject(new PgToolRunError(`${what} failed (${signal ? `killed by ${signal}` : `exit ${code}`}): ${detail}`));
    });
  });
}

export async function pgToolVersion(binary: string): Promise<PgToolVersion> {
  return parsePgToolVersion(await runPgTool(binary, ['--version']));
}

/** The embedded server's major, the oldest PostgreSQL plandb backs up: the least pg_dump/pg_restore a start accepts. */
export const MIN_PG_TOOLS_MAJOR = 15;

export type LocatedPgTools = { tools: PgTools; dump: PgToolVersion; restore: PgToolVersion } | { error: string };

/** pg_dump and pg_restore with their versions, or why they cannot be used. */
export async function locatePgToolVersions(env: NodeJS.ProcessEnv = process.env): Promise<LocatedPgTools> {
  try {
    const tools = locatePgTools(env);
    const [dump, restore] = await Promise.all([pgToolVersion(tools.pgDump), pgToolVersion(tools.pgRestore)]);
    return { tools, dump, restore };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/**
 * What a start (`plandb worker`, `plandb dev`) warns about backups, or null when nothing: without usable
 * tools every backup of an environment with `backup.enabled` is refused minutes into its migration,
 * so this says so before anything runs. Each backup still checks its own server's version.
 */
export function backupToolsWarning(
  environments: Record<string, { backup: { enabled: boolean } }>,
  located: LocatedPgTools,
  requiredMajor = MIN_PG_TOOLS_MAJOR,
): string | null {
  const needing = Object.keys(environments).filter((name) => environments[name].backup.enabled);
  if (needing.length === 0) return null;
  const refused = `backups of ${needing.join(', ')} will be refused`;
  const fix =
    `install postgresql-client-${requiredMajor} (apt-get install -y postgresql-client-${requiredMajor}) ` +
    `or set ${PG_BIN_DIR_ENV} to a directory holding pg_dump and pg_restore ${requiredMajor} or newer`;
  if ('error' in located) return `${refused}: ${located.error}`;
  const old = [
    { name: 'pg_dump', path: located.tools.pgDump, version: located.dump },
    { name: 'pg_restore', path: located.tools.pgRestore, version: located.restore },
  ].filter((t) => t.version.major < requiredMajor);
  if (old.length === 0) return null;
  const which = old.map((t) => `${t.name} ${t.version.version} (${t.path})`).join(' and ');
  return `${refused}: ${which} older than PostgreSQL ${requiredMajor}; ${fix}`;
}
