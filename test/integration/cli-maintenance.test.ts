import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { withClient } from '../../db/connection';
import { getMaintenance, setMaintenanceFlag } from '../../db/maintenance';
import { upgrade } from '../../db/migrator';
import { runCli } from '../support/cli';
import { createTestDatabase, TestDatabase } from '../support/database';

describe('plandb maintenance status|on|off', () => {
  let db: TestDatabase;
  let connection: Connection;
  let client: Client;
  let server: http.Server;
  let remote = { enabled: false, reason: null as string | null, actor: null as string | null, since: '2026-01-01T00:00:00.000Z' };
  let dir: string;
  let configPath: string;
  // A task queue no worker polls: a workflow started there stays RUNNING and does nothing.
  const idleQueue = `plandb-test-idle-${randomBytes(4).toString('hex')}`;
  const cli = (...args: string[]) => runCli(['--config', configPath, ...args]);

  beforeAll(async () => {
    db = await createTestDatabase();
    await withClient(db.pool, (c) => upgrade(c));
    connection = await Connection.connect({ address: process.env.PLANDB_TEST_TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: 'default' });
    // Stands in for the planning application's maintenance endpoint (a third party to plandb).
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (req.method === 'POST') {
          const change = JSON.parse(body) as { enabled: boolean; reason: string; actor: string };
          remote = { ...change, since: new Date().toISOString() };
          return void res.writeHead(204).end();
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(remote));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/maintenance`;
    process.env.PLANDB_CLI_MAINT_URL = db.url;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-cli-maint-'));
    configPath = path.join(dir, 'plandb.config.json');
    fs.writeFileSync(
      configPath,
      JSON.stringify({
        temporal: { address: process.env.PLANDB_TEST_TEMPORAL_ADDRESS, taskQueue: idleQueue },
        environments: {
          flag: { databaseUrlEnv: 'PLANDB_CLI_MAINT_URL', maintenance: { mode: 'db-flag' } },
          web: { databaseUrlEnv: 'PLANDB_CLI_MAINT_URL', maintenance: { mode: 'http', url } },
          bare: { databaseUrlEnv: 'PLANDB_CLI_MAINT_URL' },
        },
      }),
    );
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await connection?.close();
    await db?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    [['maintenance', 'on', '--env', 'flag', '--by', 'al\u0007ice'], /"by" contains control characters/],
    [['maintenance', 'on', '--env', 'flag', '--by', 'x'.repeat(129)], /"by" is 129 characters long \(at most 128\)/],
    [['maintenance', 'off', '--env', 'flag', '--reason', ' '], /"reason" must not be empty/],
    [['maintenance', 'on', '--env', 'flag', '--force'], /unknown option '--force'/],
    [['maintenance', 'status'], /required option '--env <environment>' not specified/],
  ])('bad arguments %j: usage, exit 2', async (args, message) => {
    const run = await cli(...(args as string[]));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/Usage: plandb maintenance/);
  });

  test('db-flag: on and off by hand record actor and reason; status shows them', async () => {
    const on = await cli('maintenance', 'on', '--env', 'flag', '--by', 'alice', '--reason', 'window', '--json');
    expect(on.code).toBe(0);
    expect(JSON.parse(on.stdout)).toMatchObject({
      changed: true,
      mode: 'db-flag',
      enabled: true,
      actor: 'alice',
      reason: 'window',
      ownerWorkflowId: null,
      owner: null,
    });
    expect(await getMaintenance(db.pool)).toMatchObject({ enabled: true, actor: 'alice', reason: 'window' });

    const status = await cli('maintenance', 'status', '--env', 'flag');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/flag: maintenance ON \(mode db-flag\)/);
    expect(status.stdout).toMatch(/reason: window/);
    expect(status.stdout).toMatch(/actor: alice/);
    expect(status.stdout).toMatch(/owner: none/);

    const off = await cli('maintenance', 'off', '--env', 'flag', '--by', 'bob', '--reason', 'done', '--json');
    expect(off.code).toBe(0);
    expect(JSON.parse(off.stdout)).toMatchObject({ changed: true, enabled: false, actor: 'bob', reason: 'done' });
    // Without --by: the OS user.
    expect(JSON.parse((await cli('maintenance', 'off', '--env', 'flag', '--json')).stdout)).toMatchObject({
      changed: false,
      actor: process.env.USER ?? os.userInfo().username,
    });
  });

  test('db-flag: off is refused while the owner workflow runs, unless --force; allowed once it ended', async () => {
    const ownerId = `plandb-test-owner-${randomBytes(4).toString('hex')}`;
    const owner = await client.workflow.start('environmentMigration', { workflowId: ownerId, taskQueue: idleQueue, args: [{}] });
    await setMaintenanceFlag(db.pool, { enabled: true, reason: 'migration window', actor: 'plandb:migration', ownerWorkflowId: ownerId });

    const status = await cli('maintenance', 'status', '--env', 'flag', '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({
      enabled: true,
      ownerWorkflowId: ownerId,
      owner: { running: true, status: 'RUNNING' },
    });
    expect((await cli('maintenance', 'status', '--env', 'flag')).stdout).toMatch(new RegExp(`owner: ${ownerId} \\(running\\)`));

    // "on" again keeps the workflow the owner.
    expect((await cli('maintenance', 'on', '--env', 'flag', '--by', 'carol')).code).toBe(0);
    expect((await getMaintenance(db.pool)).ownerWorkflowId).toBe(ownerId);

    const refused = await cli('maintenance', 'off', '--env', 'flag', '--by', 'bob');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`held by workflow ${ownerId} and it is still running`));
    expect(refused.stderr).toMatch(new RegExp(`temporal workflow cancel --workflow-id ${ownerId}`));
    expect(refused.stderr).toMatch(/--force/);
    expect(await getMaintenance(db.pool)).toMatchObject({ enabled: true, ownerWorkflowId: ownerId });

    await owner.terminate('test over');
    const stale = await cli('maintenance', 'status', '--env', 'flag');
    expect(stale.stdout).toMatch(new RegExp(`owner: ${ownerId} \\(not running: TERMINATED\\)`));
    const lifted = await cli('maintenance', 'off', '--env', 'flag', '--by', 'bob', '--reason', 'left behind');
    expect(lifted.code).toBe(0);
    expect(await getMaintenance(db.pool)).toMatchObject({ enabled: false, actor: 'bob', reason: 'left behind', ownerWorkflowId: null });

    const second = await client.workflow.start('environmentMigration', { workflowId: `${ownerId}-2`, taskQueue: idleQueue, args: [{}] });
    try {
      await setMaintenanceFlag(db.pool, { enabled: true, reason: 'w', actor: 'plandb:migration', ownerWorkflowId: `${ownerId}-2` });
      const forced = await cli('maintenance', 'off', '--env', 'flag', '--force', '--by', 'dave', '--reason', 'emergency', '--json');
      expect(forced.code).toBe(0);
      expect(JSON.parse(forced.stdout)).toMatchObject({ changed: true, enabled: false, actor: 'dave' });
    } finally {
      await second.terminate('test over');
    }
  });

  test('http: on/off through the endpoint; the owner is unknown', async () => {
    const on = await cli('maintenance', 'on', '--env', 'web', '--by', 'erin', '--reason', 'release');
    expect(on.code).toBe(0);
    expect(remote).toMatchObject({ enabled: true, actor: 'erin', reason: 'release' });
    expect(on.stdout).toMatch(/web: maintenance ON \(mode http\)/);
    expect(on.stdout).toMatch(/owner: unknown/);
    const off = await cli('maintenance', 'off', '--env', 'web', '--by', 'erin', '--reason', 'released', '--json');
    expect(off.code).toBe(0);
    expect(JSON.parse(off.stdout)).toMatchObject({
      mode: 'http',
      enabled: false,
      actor: 'erin',
      reason: 'released',
      ownerWorkflowId: null,
    });
    expect(remote.enabled).toBe(false);
  });

  test('none: there is no switch', async () => {
    const status = await cli('maintenance', 'status', '--env', 'bare');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/bare: maintenance mode "none": there is no switch/);
    const on = await cli('maintenance', 'on', '--env', 'bare');
    expect(on.code).toBe(1);
    expect(on.stderr).toMatch(/maintenance mode is "none": there is no switch to turn on/);
  });
});
