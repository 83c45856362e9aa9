import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { resolveTemporalExecutable, TemporalCliSource } from './temporal-cli';

export interface DevServerOptions {
  ip?: string;
  /** Frontend port; random when omitted. */
  port?: number;
  /** Web UI port; the UI is off when omitted. */
  uiPort?: number;
  /** SQLite file that keeps workflows across restarts; in memory when omitted. */
  dbFilename?: string;
  namespace?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  log?: (msg: string) => void;
}

export interface RunningDevServer {
  address: string;
  namespace: string;
  uiUrl: string | null;
  cliSource: TemporalCliSource;
  env: TestWorkflowEnvironment;
  stop(): Promise<void>;
}

/** Starts `temporal server start-dev` with plandb's search attributes registered. */
export async function startTemporalDevServer(opts: DevServerOptions = {}): Promise<RunningDevServer> {
  const { executable, source } = resolveTemporalExecutable(opts.log);
  const ip = opts.ip ?? '127.0.0.1';
  const namespace = opts.namespace ?? 'default';
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable,
      ip,
      port: opts.port,
      ui: opts.uiPort !== undefined,
      uiPort: opts.uiPort,
      dbFilename: opts.dbFilename,
      namespace,
      searchAttributes: SEARCH_ATTRIBUTES,
      log: { format: 'json', level: opts.logLevel ?? 'error' },
    },
  });
  return {
    address: env.address,
    namespace,
    uiUrl: opts.uiPort !== undefined ? `http://${ip}:${opts.uiPort}` : null,
    cliSource: source,
    env,
    stop: () => env.teardown(),
  };
}
