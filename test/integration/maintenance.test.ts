import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { createMaintenanceActivities } from '../../activities/maintenance';
import { withClient } from '../../db/connection';
import { drainLegacyWrites, getMaintenance } from '../../db/maintenance';
import { ensureLegacyTable } from '../../db/legacy-reader';
import { upgrade } from '../../db/migrator';
import { activityDeps } from '../support/activities';
import { testConfig } from '../support/config';
import { createTestDatabase, type TestDatabase } from '../support/database';

const URL_VAR = 'PLANDB_T_MAINT_URL';
const TOKEN_VAR = 'PLANDB_T_MAINT_TOKEN';
const TOKEN = 's3cret-token-value';

function activities(db: TestDatabase, maintenance: Record<string, unknown>, extraEnv: Record<string, string> = {}) {
  const env = { [URL_VAR]: db.url, ...extraEnv };
  const deps = activityDeps(testConfig({ dev: { databaseUrlEnv: URL_VAR, maintenance } }), env);
  return { ...createMaintenanceActivities(deps, env), close: () => deps.databases.close() };
}

const on = { environment: 'dev', enabled: true, reason: 'production window', actor: 'alice', owner: 'plandb-dev-migration' };
const off = { environment: 'dev', enabled: false, reason: 'window over', actor: 'bob' };

describe('setMaintenance activity', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    await withClient(db.pool, (c) => upgrade(c));
  });
  afterAll(async () => {
    await db?.drop();
  });

  test('db-flag: on, on again, off: idempotent, since moves only when the state changes', async () => {
    const a = activities(db, { mode: 'db-flag' });
    try {
      const first = await a.setMaintenance(on);
      expect(first).toEqual({
        environment: 'dev',
        mode: 'db-flag',
        enabled: true,
        changed: true,
        reason: 'production window',
        actor: 'alice',
        since: expect.any(String),
        drain: { drained: true, waitedMs: expect.any(Number), problem: null },
      });
      expect(await getMaintenance(db.pool)).toEqual({
        scope: 'plan_create',
        enabled: true,
        reason: 'production window',
        actor: 'alice',
        since: first.since,
        ownerWorkflowId: 'plandb-dev-migration',
      });

      const again = await a.setMaintenance({ ...on, reason: 'retry of the same step', actor: 'carol' });
      expect(again).toEqual(
        expect.objectContaining({ enabled: true, changed: false, since: first.since, reason: 'retry of the same step', actor: 'carol' }),
      );

      await new Promise((resolve) => setTimeout(resolve, 5)); // so a new `since` is a later millisecond
      const lifted = await a.setMaintenance(off);
      expect(lifted).toEqual(expect.objectContaining({ enabled: false, changed: true, actor: 'bob' }));
      expect(Date.parse(lifted.since!)).toBeGreaterThan(Date.parse(first.since!));
      expect(await a.setMaintenance(off)).toEqual(expect.objectContaining({ changed: false, since: lifted.since }));
      expect((await db.pool.query(`SELECT count(*)::int AS n FROM plan_db_maintenance`)).rows[0].n).toBe(1);
    } finally {
      await a.close();
    }
  });

  test('on waits for application writes already open on plan_artifacts; one open past the limit is reported, not thrown', async () => {
    await ensureLegacyTable(db.pool);
    const app = await db.pool.connect();
    const a = activities(db, { mode: 'db-flag' });
    try {
      // The application checked the flag just before the flip and is still inside its write.
      await app.query('BEGIN');
      await app.query(`INSERT INTO plan_artifacts (plan_id, version, payload) VALUES ('in-flight', 1, '{}')`);
      let committedAt = 0;
      const commit = new Promise((resolve) => setTimeout(resolve, 600)).then(async () => {
        committedAt = Date.now();
        await app.query('COMMIT');
      });
      const result = await a.setMaintenance(on);
      await commit;
      expect(result.drain).toEqual({ drained: true, waitedMs: expect.any(Number), problem: null });
      expect(result.drain!.waitedMs).toBeGreaterThanOrEqual(400);
      expect(Date.now()).toBeGreaterThanOrEqual(committedAt);

      await app.query('BEGIN');
      await app.query(`UPDATE plan_artifacts SET payload = '{"a": 1}' WHERE plan_id = 'in-flight'`);
      expect(await drainLegacyWrites(db.pool, 200)).toEqual({
        drained: false,
        waitedMs: expect.any(Number),
        problem: 'a write to plan_artifacts stayed open past 200 ms',
      });
      await app.query('ROLLBACK');
      await a.setMaintenance(off);
    } finally {
      app.release();
      await a.close();
    }
  });

  test('none: nothing is switched', async () => {
    const a = activities(db, { mode: 'none' });
    try {
      const before = await getMaintenance(db.pool);
      expect(await a.setMaintenance(on)).toEqual({
        environment: 'dev',
        mode: 'none',
        enabled: false,
        changed: false,
        reason: on.reason,
        actor: on.actor,
        since: null,
      });
      expect(await getMaintenance(db.pool)).toEqual(before);
    } finally {
      await a.close();
    }
  });
});

describe('setMaintenance activity over http', () => {
  let db: TestDatabase;
  let server: http.Server;
  let url: string;
  const received: { method: string; authorization?: string; body: string }[] = [];
  let state: { enabled: boolean; reason: string | null; actor: string | null; since: string } = {
    enabled: false,
    reason: null,
    actor: null,
    since: '2026-01-01T00:00:00.000Z',
  };
  let failPosts = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    // Stands in for the planning application's maintenance endpoint: the application is a third party to plandb.
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ method: req.method ?? '', authorization: req.headers.authorization, body });
        if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401).end();
        if (req.method === 'GET') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(state));
        if (failPosts > 0) {
          failPosts--;
          return void res.writeHead(503).end(`unavailable; your token was ${TOKEN}`);
        }
        const change = JSON.parse(body) as { enabled: boolean; reason: string; actor: string };
        if (change.enabled !== state.enabled) state = { ...change, since: new Date().toISOString() };
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/maintenance`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.drop();
  });

  test('POSTs {enabled, reason, actor} with the bearer token, reads the state back, reports the change', async () => {
    const a = activities(db, { mode: 'http', url, tokenEnv: TOKEN_VAR }, { [TOKEN_VAR]: TOKEN });
    try {
      received.length = 0;
      const result = await a.setMaintenance(on);
      expect(received.map((r) => r.method)).toEqual(['GET', 'POST', 'GET']);
      expect(received.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
      expect(JSON.parse(received[1].body)).toEqual({ enabled: true, reason: on.reason, actor: on.actor });
      expect(result).toEqual({
        environment: 'dev',
        mode: 'http',
        enabled: true,
        changed: true,
        reason: on.reason,
        actor: on.actor,
        since: state.since,
        drain: { drained: true, waitedMs: expect.any(Number), problem: null },
      });
      expect(await a.setMaintenance(on)).toEqual(expect.objectContaining({ changed: false, since: result.since }));
    } finally {
      await a.close();
    }
  });

  test('a non-2xx answer is a retryable error naming the status, never the token', async () => {
    const a = activities(db, { mode: 'http', url, tokenEnv: TOKEN_VAR }, { [TOKEN_VAR]: TOKEN });
    try {
      failPosts = 1;
      const err: unknown = await a.setMaintenance(off).catch((e) => e);
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect(err).toEqual(expect.objectContaining({ type: 'MaintenanceHttpError', nonRetryable: false }));
      expect((err as Error).message).toBe(`maintenance switch ${url} answered HTTP 503 to POST`);
      expect(JSON.stringify(err)).not.toContain(TOKEN);
      expect(await a.setMaintenance(off)).toEqual(expect.objectContaining({ enabled: false, changed: true }));
    } finally {
      await a.close();
    }
  });

  test('a token variable that is not set is a configuration error, not a retry', async () => {
    const a = activities(db, { mode: 'http', url, tokenEnv: TOKEN_VAR });
    try {
      const err: unknown = await a.setMaintenance(on).catch((e) => e);
      expect(err).toEqual(expect.objectContaining({ type: 'ConfigError', nonRetryable: true }));
      expect((err as Error).message).toBe(`environments.dev.maintenance.tokenEnv: environment variable ${TOKEN_VAR} is not set`);
    } finally {
      await a.close();
    }
  });
});
