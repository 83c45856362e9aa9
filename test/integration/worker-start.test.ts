/**
 * What `plandb worker` (the built CLI) says before it runs anything: unusable pg_dump/pg_restore are a
 * warning naming the environments whose backups will be refused, and the worker still starts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, TestDatabase } from '../support/database';
import { childProcessEnv, startCliWorker } from '../support/cli-worker';

const URL_VAR = 'PLANDB_WS_T_DEV_URL';

describe('plandb worker: backup prerequisites at start', () => {
  let db: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-worker-start-'));
    fs.mkdirSync(path.join(dir, 'no-pg-tools'));
  });
  afterAll(async () => {
    await db?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function envFor(backupEnabled: boolean): NodeJS.ProcessEnv {
    const config = path.join(dir, `plandb-${backupEnabled}.config.json`);
    fs.writeFileSync(
      config,
      JSON.stringify({
        temporal: { address: process.env.PLANDB_TEST_TEMPORAL_ADDRESS, taskQueue: `plandb-ws-${backupEnabled}-${process.pid}` },
        environments: { dev: { databaseUrlEnv: URL_VAR, backup: { enabled: backupEnabled, dir: path.join(dir, 'backups') } } },
      }),
    );
    return {
      ...childProcessEnv(config, URL_VAR, db.url),
      PLANDB_PG_BIN_DIR: path.join(dir, 'no-pg-tools'),
    };
  }

  test('without usable tools: a warning before worker_started, then the worker runs', async () => {
    const worker = await startCliWorker(envFor(true));
    try {
      const [warning] = worker.events('backup_tools_unusable');
      expect(warning).toMatchObject({
        level: 40, // pino's warn
        message: `backups of dev will be refused: PLANDB_PG_BIN_DIR=${path.join(dir, 'no-pg-tools')} does not hold executable pg_dump and pg_restore`,
      });
      expect(worker.output().indexOf('backup_tools_unusable')).toBeLessThan(worker.output().indexOf('worker_started'));
    } finally {
      await worker.stop();
    }
  });

  test('with backups disabled there is nothing to warn about', async () => {
    const worker = await startCliWorker(envFor(false));
    try {
      expect(worker.started).toMatchObject({ tls: false });
      expect(worker.events('backup_tools_unusable')).toEqual([]);
    } finally {
      await worker.stop();
    }
  });
});
