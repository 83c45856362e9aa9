import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../platform/project-root';
import { runCli } from '../support/cli';
import { createTestDatabase, TestDatabase } from '../support/database';
import { testConfig } from '../support/config';
import { createTemporalHarness, TemporalHarness } from '../support/temporal';

const exec = promisify(execFile);

describe('plandb CLI', () => {
  let dbA: TestDatabase;
  let dbB: TestDatabase;
  let configDir: string;
  let configPath: string;

  beforeAll(async () => {
    [dbA, dbB] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-cli-'));
    configPath = path.join(configDir, 'plandb.config.json');
    fs.writeFileSync(
      configPath,
      JSON.stringify({
        temporal: { address: process.env.PLANDB_TEST_TEMPORAL_ADDRESS },
        environments: {
          dev: { databaseUrlEnv: 'PLANDB_CLI_T_DEV_URL' },
          staging: { databaseUrlEnv: 'PLANDB_CLI_T_STAGING_URL' },
          qa: { databaseUrlEnv: 'PLANDB_CLI_T_UNSET_URL' },
        },
      }),
    );
    process.env.PLANDB_CLI_T_DEV_URL = dbA.url;
    process.env.PLANDB_CLI_T_STAGING_URL = dbB.url;
    delete process.env.PLANDB_CLI_T_UNSET_URL;
  });

  afterAll(async () => {
    await Promise.all([dbA?.drop(), dbB?.drop()]);
    fs.rmSync(configDir, { recursive: true, force: true });
  });

  describe('bad arguments print usage and exit 2', () => {
    test.each([
      [[], /Usage: plandb/],
      [['no-such-command'], /unknown command 'no-such-command'/],
      [['db', 'status'], /required option '--env <environment>' not specified/],
      [['seed-demo', '--env', 'dev', '--plans', 'x', '--versions', '1', '--series', '1'], /option '--plans <n>' argument 'x' is invalid/],
      [['seed-demo', '--env', 'dev', '--plans', '0', '--versions', '1', '--series', '1'], /expected a whole number from 1/],
      [['preflight', '--env', 'Prod!'], /"environment" must be an environment name/],
    ])('plandb %j', async (args, message) => {
      const run = await runCli(args as string[]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toMatch(/Usage: plandb/);
    });
  });

  test('--help exits 0', async () => {
    const run = await runCli(['seed-demo', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/--bad <n>/);
  });

  test('a config problem stops the command with an error naming the key (exit 1)', async () => {
    const unset = await runCli(['--config', configPath, 'db', 'status', '--env', 'qa']);
    expect(unset.code).toBe(1);
    expect(unset.stderr).toMatch(/environments\.qa\.databaseUrlEnv/);
    expect(unset.stderr).toMatch(/PLANDB_CLI_T_UNSET_URL/);

    const unknown = await runCli(['--config', configPath, 'db', 'status', '--env', 'production']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown environment "production" \(known: dev, staging, qa\)/);

    const missing = await runCli(['--config', path.join(configDir, 'nope.json'), 'db', 'status', '--env', 'dev']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.json not found/);
  });

  test('seed-demo is deterministic and idempotent', async () => {
    const args = ['--plans', '3', '--versions', '2', '--series', '4', '--bad', '10', '--seed', '42'];
    const first = await runCli(['--config', configPath, 'seed-demo', '--env', 'dev', ...args]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/16 artifacts inserted, 0 already present/);
    const again = await runCli(['--config', configPath, 'seed-demo', '--env', 'dev', ...args]);
    expect(again.stdout).toMatch(/0 artifacts inserted, 16 already present/);
    await runCli(['--config', configPath, 'seed-demo', '--env', 'staging', ...args]);

    const digest = async (db: TestDatabase) =>
      (
        await db.pool.query(
          `SELECT md5(string_agg(plan_id || ':' || version || ':' || payload::text || ':' || created_at::text, '|' ORDER BY plan_id, version)) AS d,
                  count(*)::int AS n FROM plan_artifacts`,
        )
      ).rows[0];
    const [a, b] = await Promise.all([digest(dbA), digest(dbB)]);
    expect(a.n).toBe(16);
    expect(a.d).toBe(b.d);
    // The exact legacy shape (§3): five columns and the unique (plan_id, version).
    const cols = await dbA.pool.query(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'plan_artifacts' ORDER BY ordinal_position`,
    );
    expect(cols.rows.map((r) => [r.column_name, r.data_type, r.is_nullable])).toEqual([
      ['id', 'bigint', 'NO'],
      ['plan_id', 'text', 'NO'],
      ['version', 'integer', 'NO'],
      ['payload', 'jsonb', 'NO'],
      ['created_at', 'timestamp with time zone', 'NO'],
    ]);
  });

  test('db status lists pending migrations; db upgrade applies them; status is then at head', async () => {
    const before = await runCli(['--config', configPath, 'db', 'status', '--env', 'staging']);
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(/behind head/);
    expect(before.stdout).toMatch(
      /pending {2}0000_initial {2}[0-9a-f]{12}\n {2}pending {2}0001_run_lifecycle_and_evidence {2}[0-9a-f]{12}/,
    );

    const up = await runCli(['--config', configPath, 'db', 'upgrade', '--env', 'staging']);
    expect(up.code).toBe(0);
    // Every migration of the journal, in its order.
    const journal = JSON.parse(fs.readFileSync(path.join(projectRoot(), 'db', 'migrations', 'meta', '_journal.json'), 'utf8'));
    const names: string[] = journal.entries.map((e: { tag: string }) => e.tag);
    expect(names.slice(0, 3)).toEqual(['0000_initial', '0001_run_lifecycle_and_evidence', '0002_backfill_shards']);
    expect(up.stdout).toContain(`applied ${names.length} migration(s): ${names.join(', ')}`);

    const after = await runCli(['--config', configPath, 'db', 'status', '--env', 'staging', '--json']);
    const status = JSON.parse(after.stdout);
    expect(status.atHead).toBe(true);
    expect(status.applied.map((a: { name: string }) => a.name)).toEqual(names);
  });

  test('preflight through the CLI waits for the workflow and prints the inventory', async () => {
    const config = testConfig({ dev: { databaseUrlEnv: 'PLANDB_CLI_T_DEV_URL' } });
    const harness: TemporalHarness = await createTemporalHarness(config, process.env);
    const cliConfig = path.join(configDir, 'preflight.config.json');
    fs.writeFileSync(
      cliConfig,
      JSON.stringify({
        temporal: { address: process.env.PLANDB_TEST_TEMPORAL_ADDRESS, taskQueue: harness.taskQueue },
        environments: { dev: { databaseUrlEnv: 'PLANDB_CLI_T_DEV_URL' } },
      }),
    );
    try {
      const run = await harness.run(() => runCli(['--config', cliConfig, 'preflight', '--env', 'dev']));
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/legacy: 16 artifacts, 3 plans, 6 versions to write, 10 rejected/);
      expect(run.stdout).toMatch(/series rows/);
    } finally {
      await harness.close();
    }
  });

  test('the installed bin runs the compiled CLI and exits 2 on bad arguments', async () => {
    const bin = path.join(projectRoot(), 'bin', 'plandb.js');
    const err = await exec(process.execPath, [bin, 'backfil']).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr).toMatch(/unknown command 'backfil'/);
  });
});
