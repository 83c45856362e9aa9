import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../support/backfill';
import { runCli } from '../support/cli';
import { migrationFixture, MigrationFixture } from '../support/migration';
import { repositoryDigest } from '../support/repository';
import { statusQuery } from '../../workflows/definitions';

describe('plandb migrate, approve, decide, evidence, backup, rollback', () => {
  let f: MigrationFixture;
  let configPath: string;
  let dir: string;

  beforeAll(async () => {
    // Environment names of this file only: workflow ids (plandb-<env>-migration) are shared on the test server.
    f = await migrationFixture({
      clidev: { backfill: { mode: 'force' } },
      clistaging: { approval: { required: true, approvers: ['alice'], timeout: '1h' }, backfill: { sampleLimit: 5 } },
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-cli-mig-'));
    configPath = path.join(dir, 'plandb.config.json');
    // The CLI reads the same environments, through the same variables, from a file of its own.
    const environments: Record<string, unknown> = {};
    for (const [name, env] of Object.entries(f.config.environments)) {
      environments[name] = { databaseUrlEnv: env.databaseUrlEnv, backup: { dir: env.backup.dir } };
      process.env[env.databaseUrlEnv] = f.env[env.databaseUrlEnv];
    }
    fs.writeFileSync(
      configPath,
      JSON.stringify({ temporal: { address: process.env.PLANDB_TEST_TEMPORAL_ADDRESS, taskQueue: f.harness.taskQueue }, environments }),
    );
  });
  afterAll(async () => {
    await f?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runCli(['--config', configPath, ...args]);

  test('migrate waits at the gate; approve refuses an outsider and accepts a listed approver; evidence renders', async () => {
    await f.harness.run(async () => {
      const started = await cli('migrate', '--env', 'clistaging', '--no-wait');
      expect(started.code).toBe(0);
      const { workflowId } = JSON.parse(started.stdout);
      expect(workflowId).toBe('plandb-clistaging-migration');
      const handle = f.harness.client.workflow.getHandle(workflowId);
      await waitFor(async () => (await handle.query(statusQuery).catch(() => null))?.openGate === 'full-backfill', 60_000, 'the gate');

      const refused = await cli('approve', workflowId, '--gate', 'full-backfill', '--by', 'mallory');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/refused: "mallory" may not decide gate "full-backfill" \(allowed: alice\)/);
      const status = await cli('status', workflowId);
      expect(status.stdout).toMatch(/Waiting for approval at gate `full-backfill`/);

      const approved = await cli('approve', workflowId, '--gate', 'full-backfill', '--by', 'alice', '--comment', 'sample ok');
      expect(approved.code).toBe(0);
      expect(approved.stdout).toMatch(/full-backfill: approved by alice/);
      await handle.result();

      const md = await cli('evidence', workflowId);
      expect(md.code).toBe(0);
      expect(md.stdout).toMatch(/# plandb migration evidence — clistaging/);
      expect(md.stdout).toMatch(/\| full-backfill \| approved \| alice \|/);
      const json = JSON.parse((await cli('evidence', workflowId, '--format', 'json')).stdout);
      expect(json.status).toBe('completed');
    });
  });

  test('evidence outlives Temporal: read from plan_migration_runs when the workflow is not there', async () => {
    // An execution Temporal no longer holds (past its retention): only the evidence row is left.
    const archived = 'plandb-clistaging-migration-archived';
    await f.dbs.clistaging.pool.query(
      `INSERT INTO plan_migration_runs (workflow_id, environment, status, current_step, evidence, started_at, finished_at)
       SELECT $1, environment, status, current_step, jsonb_set(evidence, '{workflowId}', to_jsonb($1::text)), started_at, finished_at
         FROM plan_migration_runs WHERE workflow_id = 'plandb-clistaging-migration'`,
      [archived],
    );
    const md = await cli('evidence', archived, '--env', 'clistaging');
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/Status: \*\*completed\*\*/);
    expect(md.stdout).toContain(archived);
    const unknown = await cli('evidence', 'plandb-nowhere');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/name its environment with --env/);
  });

  test('decide needs a known action; approve needs --gate and --by', async () => {
    expect((await cli('decide', 'plandb-clidev-migration', 'later')).code).toBe(2);
    expect((await cli('approve', 'plandb-clidev-migration', '--by', 'alice')).code).toBe(2);
    expect((await cli('rollback', '--env', 'clidev', '--mode', 'undo')).code).toBe(2);
    const badTimeout = await cli('migrate', '--env', 'clidev', '--reconnect-timeout', 'forever');
    expect(badTimeout.code).toBe(2);
    expect(badTimeout.stderr).toMatch(/expected a duration like 90s, 5m or 1h, got "forever"/);
    expect(badTimeout.stderr).toMatch(/Usage: plandb migrate/);
  });

  test('backup, then rollback clear-repository and restore-backup', async () => {
    await f.harness.run(async () => {
      const migrated = await cli('migrate', '--env', 'clidev');
      expect([migrated.code, migrated.code ? migrated.stderr : '']).toEqual([0, '']);
      const backup = await cli('backup', '--env', 'clidev');
      expect(backup.code).toBe(0);
      const taken = JSON.parse(backup.stdout);
      expect(fs.statSync(taken.location).mode & 0o777).toBe(0o600);
      const full = await repositoryDigest(f.dbs.clidev.pool);

      expect((await cli('rollback', '--env', 'clidev', '--mode', 'clear-repository')).code).toBe(0);
      expect((await repositoryDigest(f.dbs.clidev.pool)).plan_versions).toBe(0);
      const restored = await cli('rollback', '--env', 'clidev', '--mode', 'restore-backup', '--backup-id', String(taken.backupId));
      expect(restored.code).toBe(0);
      expect(await repositoryDigest(f.dbs.clidev.pool)).toEqual(full);
    });
  });
});
