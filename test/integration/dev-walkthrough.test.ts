/**
 * The README's "A full promotion, step by step" against `plandb dev` itself (the built CLI, in a child
 * process): embedded PostgreSQL, moto, a Temporal dev server and a worker, on free ports with
 * its state in a temporary folder, and the example config's policies. As in a second terminal, the
 * test takes the exports `plandb dev` prints and opens the gates with the README's `plandb approve`
 * commands (the CLI in-process); then Ctrl-C (SIGINT) stops the stack, moto included.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { createPool } from '../../db/connection';
import { getMaintenance } from '../../db/maintenance';
import type { MigrationEvidence } from '../../model/migration';
import { freePort } from '../../runtime/embedded-postgres';
import { projectRoot } from '../../platform/project-root';
import { promotionStatusQuery, PromotionStatus, statusQuery } from '../../workflows/definitions';
import { waitFor } from '../support/backfill';
import { runCli } from '../support/cli';

const ENVIRONMENTS = ['dev', 'staging', 'production'];
const GATE_WAIT_MS = 60_000;
const BUCKET = 'plandb-dev-backups';

describe('plandb dev: dev → staging → production as the README walks it', () => {
  let scratch: string;
  let dev: ChildProcess;
  let exited: Promise<number | null>;
  let stdout = '';
  let stderr = '';
  /** What `plandb dev` printed as `export NAME=value`. */
  const exported: Record<string, string> = {};
  const ports: Record<string, number> = {};
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-dev-walkthrough-'));
    // The embedded server runs as `postgres` when we are root: it must be able to enter this folder.
    fs.chmodSync(scratch, 0o755);
    // The example config as it ships, but with its backup folders in the scratch folder.
    const example = JSON.parse(fs.readFileSync(path.join(projectRoot(), 'plandb.config.example.json'), 'utf8'));
    for (const [name, environment] of Object.entries<{ backup: { dir: string } }>(example.environments)) {
      environment.backup.dir = path.join(scratch, 'backups', name);
    }
    const configPath = path.join(scratch, 'plandb.config.json');
    fs.writeFileSync(configPath, JSON.stringify(example));
    // Only what a fresh shell has: `plandb dev` sets the databases', moto's and Temporal's variables itself.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(PLANDB_|TEMPORAL_ADDRESS$)/.test(name)));
    const args = ['--config', configPath, 'dev', '--state-dir', path.join(scratch, 'state')];
    for (const flag of ['pg', 'temporal', 'ui', 's3']) {
      ports[flag] = await freePort();
      args.push(`--${flag}-port`, String(ports[flag]));
    }
    args.push('--demo-plans', '6', '--demo-versions', '2', '--demo-series', '6', '--demo-bad', '3');
    // The built CLI (`npm test` builds first), as `npm run dev` runs it: tsx would exit at once on SIGINT.
    dev = spawn(process.execPath, [path.join(projectRoot(), 'bin', 'plandb.js'), ...args], {
      cwd: projectRoot(),
      env: {
        ...env,
        PLANDB_LOG_LEVEL: 'warn',
        // The bundle global setup built, and ports of our own: another worker of this machine may hold the defaults.
        PLANDB_WORKFLOW_BUNDLE: process.env.PLANDB_TEST_WORKFLOW_BUNDLE,
        PLANDB_METRICS_PORT: '0',
        PLANDB_TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${await freePort()}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    dev.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    dev.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    exited = new Promise((resolve) => dev.once('exit', (code) => resolve(code)));
    await waitFor(
      async () => {
        if (dev.exitCode !== null) throw new Error(`plandb dev exited ${dev.exitCode}:\n${stdout}\n${stderr}`);
        return stdout.includes('Ctrl-C stops');
      },
      120_000,
      `plandb dev to start:\n${stdout}\n${stderr}`,
    );
    for (const [, name, value] of stdout.matchAll(/^export (\w+)=(.*)$/gm)) exported[name] = value;
    // The second terminal of the README: the exports, then `npx plandb …`.
    Object.assign(process.env, exported, { PLANDB_CONFIG: configPath });
    connection = await Connection.connect({ address: exported.TEMPORAL_ADDRESS });
    client = new Client({ connection });
  }, 150_000);

  afterAll(async () => {
    await connection?.close();
    if (dev && dev.exitCode === null) {
      dev.kill('SIGINT');
      await exited;
    }
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  test('it exports production backup storage on moto with dummy credentials', () => {
    expect(Object.keys(exported).sort()).toEqual([
      'PLANDB_DEV_DATABASE_URL',
      'PLANDB_PRODUCTION_DATABASE_URL',
      'PLANDB_S3_ACCESS_KEY_ID',
      'PLANDB_S3_ENDPOINT',
      'PLANDB_S3_REGION',
      'PLANDB_S3_SECRET_ACCESS_KEY',
      'PLANDB_STAGING_DATABASE_URL',
      'TEMPORAL_ADDRESS',
    ]);
    expect(exported.PLANDB_S3_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stdout).toContain(`production: backups upload to s3://${BUCKET}/production/ on moto`);
    expect(stdout).toContain(`Backup storage (moto, S3-compatible, in memory): ${exported.PLANDB_S3_ENDPOINT}`);
  });

  test('promotion with the README commands: all three complete, the production backup is in moto, maintenance is off', async () => {
    // The README's `npx plandb promote`, with the production post-check cut from 24 h to seconds.
    const started = await runCli(['promote', '--no-wait', '--post-check-hours', '0.001', '--post-check-interval', '1s']);
    expect(started.code).toBe(0);
    const promotion = client.workflow.getHandle('plandb-promotion');
    const promotionAt = (gate: string) =>
      waitFor(async () => (await promotion.query(promotionStatusQuery).catch(() => null))?.openGate === gate, GATE_WAIT_MS, gate);
    const migrationAt = (env: string, gate: string) =>
      waitFor(
        async () =>
          (
            await client.workflow
              .getHandle(`plandb-${env}-migration`)
              .query(statusQuery)
              .catch(() => null)
          )?.openGate === gate,
        GATE_WAIT_MS,
        `${env} ${gate}`,
      );
    const approve = async (...args: string[]) => {
      const run = await runCli(['approve', ...args]);
      expect([run.code, run.stderr]).toEqual([0, '']);
    };

    await promotionAt('promote-to-staging');
    await approve('plandb-promotion', '--gate', 'promote-to-staging', '--by', 'release-manager');
    await migrationAt('staging', 'full-backfill');
    await approve('plandb-staging-migration', '--gate', 'full-backfill', '--by', 'release-manager', '--comment', 'sample ok');
    await promotionAt('promote-to-production');
    await approve('plandb-promotion', '--gate', 'promote-to-production', '--by', 'sre-oncall');
    await migrationAt('production', 'start');
    await approve('plandb-production-migration', '--gate', 'start', '--by', 'release-manager');
    // Production cuts over online: the backfill ran with the application live; maintenance follows this gate.
    await migrationAt('production', 'cutover');
    await approve('plandb-production-migration', '--gate', 'cutover', '--by', 'sre-oncall');
    await migrationAt('production', 'spot-check');
    await approve('plandb-production-migration', '--gate', 'spot-check', '--by', 'sre-oncall', '--comment', 'KPIs, events, run links ok');

    const done = (await promotion.result()) as PromotionStatus;
    expect(done.stages.map((s) => [s.environment, s.status])).toEqual(ENVIRONMENTS.map((env) => [env, 'completed']));

    const production = (await client.workflow.getHandle('plandb-production-migration').result()) as MigrationEvidence;
    expect(production.steps.map((s) => [s.name, s.status])).toEqual([
      ['preflight', 'completed'],
      ['approval', 'completed'],
      ['backup', 'completed'],
      ['migrate', 'completed'],
      ['backfill', 'completed'],
      ['verify', 'completed'],
      ['approval', 'completed'],
      ['pre-delta', 'completed'],
      ['verify-pre-delta', 'completed'],
      ['maintenance-on', 'completed'],
      ['delta', 'completed'],
      ['verify-delta', 'completed'],
      ['spot-check', 'completed'],
      ['maintenance-off', 'completed'],
      ['record-capacity', 'completed'],
      ['legacy-cutover', 'completed'],
      ['post-check', 'completed'],
    ]);

    // The dump and its sidecar are in moto's bucket, the size the backup step recorded.
    const backup = production.steps.find((s) => s.name === 'backup')!.output as { s3Uri: string; bytes: number };
    expect(backup.s3Uri).toMatch(/^s3:\/\/plandb-dev-backups\/production\/plan_db_production_\d{8}T\d{6}Z\.dump$/);
    const key = backup.s3Uri.replace(`s3://${BUCKET}/`, '');
    const s3 = new S3Client({
      endpoint: exported.PLANDB_S3_ENDPOINT,
      region: exported.PLANDB_S3_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: exported.PLANDB_S3_ACCESS_KEY_ID, secretAccessKey: exported.PLANDB_S3_SECRET_ACCESS_KEY },
    });
    try {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'production/' }));
      expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual([key, `${key}.sha256`]);
      expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ContentLength).toBe(backup.bytes);
    } finally {
      s3.destroy();
    }

    const pool = createPool(exported.PLANDB_PRODUCTION_DATABASE_URL, { max: 1 });
    try {
      expect((await getMaintenance(pool)).enabled).toBe(false);
    } finally {
      await pool.end();
    }

    // plandb dev preloads pg_stat_statements and creates it in each database: the report since production's cut-over lists statements.
    const usage = await runCli(['legacy-usage', '--env', 'production', '--since', 'cutover', '--json']);
    expect(usage.code).toBe(0);
    const cutover = production.steps.find((s) => s.name === 'legacy-cutover')!.output as { snapshotId: number };
    expect(JSON.parse(usage.stdout)).toMatchObject({
      since: { id: cutover.snapshotId, kind: 'cutover' },
      table: { present: true },
      statements: { available: true, plandbRole: 'postgres' },
    });

    // Credentials travel by variable name only: no workflow input or result of the run holds one.
    const payloads: string[] = [];
    for (const id of ['plandb-promotion', ...ENVIRONMENTS.map((env) => `plandb-${env}-migration`)]) {
      // Payloads are base64 in the history's JSON: decode every one.
      JSON.parse(historyToJSON(await client.workflow.getHandle(id).fetchHistory()), (key, value: unknown) => {
        if (key === 'data' && typeof value === 'string') payloads.push(Buffer.from(value, 'base64').toString('utf8'));
        return value;
      });
    }
    const text = payloads.join('\n');
    expect(text).toContain(backup.s3Uri);
    expect(text).not.toContain(exported.PLANDB_S3_ACCESS_KEY_ID);
    expect(text).not.toContain(exported.PLANDB_S3_SECRET_ACCESS_KEY);
  });

  test('Ctrl-C stops the stack, moto with the rest', async () => {
    dev.kill('SIGINT');
    // embedded-postgres's exit hook ends the process with 128 + SIGINT once PostgreSQL is stopped.
    expect([0, 130]).toContain(await exited);
    const listening = (port: number) =>
      new Promise<boolean>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(true));
        socket.once('error', () => resolve(false));
        socket.once('connect', () => socket.destroy());
      });
    for (const flag of ['pg', 'temporal', 'ui', 's3']) expect([flag, await listening(ports[flag])]).toEqual([flag, false]);
  });
});
