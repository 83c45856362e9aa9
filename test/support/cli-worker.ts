/** `plandb worker` from the built CLI (bin/plandb.js) as a child process, with its log lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../platform/project-root';
import { waitFor } from './backfill';

export const PLANDB_BIN = path.join(projectRoot(), 'bin', 'plandb.js');

export interface CliWorker {
  /** The parsed `worker_started` line. */
  started: Record<string, unknown>;
  /** Everything it printed so far (JSON log lines on stderr). */
  output(): string;
  /** The JSON log lines of one event, in order. */
  events(event: string): Record<string, unknown>[];
  /** SIGINT (graceful shutdown), resolves when it has exited. */
  stop(): Promise<void>;
  /** SIGKILL (a crash: no shutdown code runs), resolves when it has exited. */
  kill(): Promise<void>;
}

export async function startCliWorker(env: NodeJS.ProcessEnv): Promise<CliWorker> {
  const child: ChildProcess = spawn(process.execPath, [PLANDB_BIN, 'worker'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const events = (event: string) =>
    output
      .split('\n')
      .filter((l) => l.includes(`"event":"${event}"`))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const signal = (name: NodeJS.Signals) => async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(name);
      await exited;
    }
  };
  const stop = signal('SIGINT');
  try {
    const started = await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`plandb worker exited ${child.exitCode}: ${output}`);
        return events('worker_started')[0] ?? null;
      },
      60_000,
      'plandb worker to start',
    );
    return { started, output: () => output, events, stop, kill: signal('SIGKILL') };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The environment of a built `plandb` child process: its config, one database URL, info logs, free metrics ports. */
export function childProcessEnv(configPath: string, urlVar: string, url: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PLANDB_CONFIG: configPath,
    [urlVar]: url,
    PLANDB_LOG_LEVEL: 'info',
    PLANDB_METRICS_PORT: '0',
    PLANDB_TEMPORAL_METRICS_ADDRESS: '127.0.0.1:0',
  };
}
