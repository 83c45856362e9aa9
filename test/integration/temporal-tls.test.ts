/**
 * plandb through a TLS-terminating gRPC proxy that requires a client certificate (nginx in front of
 * the shared dev server): the built CLI and `plandb worker` connect with TEMPORAL_TLS_* and complete a
 * preflight; without the client certificate both are refused with an error saying where.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { PreflightReport } from '../../activities/preflight';
import { seedDemo } from '../../db/seed';
import { childProcessEnv, CliWorker, PLANDB_BIN as BIN, startCliWorker } from '../support/cli-worker';
import { createTestDatabase, TestDatabase } from '../support/database';
import { startTlsProxy, TlsProxy } from '../support/tls-proxy';

const exec = promisify(execFile);
const URL_VAR = 'PLANDB_TLS_T_DEV_URL';
const DEMO = { plans: 2, versions: 2, series: 3, bad: 0, seed: 3 };

describe('Temporal over TLS with a client certificate (nginx gRPC proxy)', () => {
  let proxy: TlsProxy;
  let db: TestDatabase;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let worker: CliWorker | undefined;

  beforeAll(async () => {
    proxy = await startTlsProxy(process.env.PLANDB_TEST_TEMPORAL_ADDRESS!);
    db = await createTestDatabase();
    await seedDemo(db.pool, DEMO);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-tls-cli-'));
    const config = path.join(dir, 'plandb.config.json');
    // The file's address is the plaintext server: TEMPORAL_ADDRESS must win for the test to mean anything.
    const taskQueue = `plandb-tls-${randomBytes(4).toString('hex')}`;
    fs.writeFileSync(
      config,
      JSON.stringify({
        temporal: { address: process.env.PLANDB_TEST_TEMPORAL_ADDRESS, taskQueue },
        environments: { dev: { databaseUrlEnv: URL_VAR } },
      }),
    );
    env = {
      ...childProcessEnv(config, URL_VAR, db.url),
      TEMPORAL_ADDRESS: proxy.address,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: proxy.files.caCert,
      TEMPORAL_TLS_CLIENT_CERT_PATH: proxy.files.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: proxy.files.clientKey,
      // The certificate's DNS name: Node refuses an IP address as the TLS server name (SNI).
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
    };
  });

  afterAll(async () => {
    await worker?.stop();
    await db?.drop();
    await proxy?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const withoutClientCert = () => {
    const e = { ...env };
    delete e.TEMPORAL_TLS_CLIENT_CERT_PATH;
    delete e.TEMPORAL_TLS_CLIENT_KEY_PATH;
    return e;
  };

  test('`plandb worker` and `plandb preflight` connect with TEMPORAL_TLS_* and complete the workflow', async () => {
    worker = await startCliWorker(env);
    expect(worker.started).toMatchObject({ address: proxy.address, namespace: 'default', tls: true });

    const { stdout } = await exec(process.execPath, [BIN, 'preflight', '--env', 'dev', '--json'], { env });
    const report = JSON.parse(stdout) as PreflightReport;
    expect(report.environment).toBe('dev');
    expect(report.legacy?.artifacts).toBe(DEMO.plans * DEMO.versions);

    // The key never reaches the worker's log.
    const key = fs.readFileSync(proxy.files.clientKey, 'utf8');
    const keyBody = key.split('\n')[1];
    expect(worker.output()).not.toContain(keyBody);
  });

  test('without the client certificate the CLI is refused and says where it was going', async () => {
    const failed = await exec(process.execPath, [BIN, 'preflight', '--env', 'dev', '--no-wait'], { env: withoutClientCert() }).catch(
      (e) => e,
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`cannot reach Temporal at ${proxy.address} (TLS on, no client certificate: `);
    expect(proxy.errorLog()).toContain('client sent no required SSL certificate');
  });

  test('without the client certificate `plandb worker` does not start', async () => {
    const failed = await exec(process.execPath, [BIN, 'worker'], { env: withoutClientCert() }).catch((e) => e);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`cannot reach Temporal at ${proxy.address} (TLS on, no client certificate: `);
  });
});
