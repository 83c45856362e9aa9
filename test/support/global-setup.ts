/**
 * Starts what the integration tests share: a PostgreSQL server (embedded 15.x, or TEST_DATABASE_URL's
 * server) and one Temporal dev server, and prebuilds the workflow bundle once. Test files find them
 * through the PLANDB_TEST_* variables and each creates its own databases.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startEmbeddedPostgres } from '../../runtime/embedded-postgres';
import { startTemporalDevServer } from '../../runtime/temporal-dev-server';
import { workflowsEntry } from '../../worker/workflow-bundle';

export default async function globalSetup(): Promise<void> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-test-'));
  // The embedded server runs as `postgres` when we are root: it must be able to enter this folder.
  fs.chmodSync(scratch, 0o755);
  const stops: (() => Promise<void>)[] = [];

  if (process.env.TEST_DATABASE_URL) {
    const url = new URL(process.env.TEST_DATABASE_URL);
    url.pathname = '/postgres';
    process.env.PLANDB_TEST_ADMIN_URL = url.toString();
  } else {
    // pg_stat_statements for the legacy-usage tests (a test database gets it with CREATE EXTENSION).
    const pg = await startEmbeddedPostgres({ dataDir: path.join(scratch, 'pg', 'data'), preloadLibraries: ['pg_stat_statements'] });
    stops.push(() => pg.stop());
    process.env.PLANDB_TEST_ADMIN_URL = pg.urlFor('postgres');
  }

  const temporal = await startTemporalDevServer({});
  stops.push(() => temporal.stop());
  process.env.PLANDB_TEST_TEMPORAL_ADDRESS = temporal.address;

  const { code } = await bundleWorkflowCode({ workflowsPath: workflowsEntry(), logger: quietLogger });
  const bundlePath = path.join(scratch, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, code);
  process.env.PLANDB_TEST_WORKFLOW_BUNDLE = bundlePath;

  (globalThis as { __plandbTestStops?: (() => Promise<void>)[] }).__plandbTestStops = stops.reverse();
  (globalThis as { __plandbTestScratch?: string }).__plandbTestScratch = scratch;
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (msg: string) => console.warn(msg),
  error: (msg: string) => console.error(msg),
};
