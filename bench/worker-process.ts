/**
 * Parent side of the worker child (bench/worker.ts): starts it, tracks its peak RSS (VmHWM from
 * /proc/<pid>/status, and the child's own process.resourceUsage().maxRSS when it stops), stops it.
 */
import { ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Cleanup } from './cleanup';
import { progress } from './log';
import type { FromWorker, ToWorker } from './worker-protocol';

const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 60_000;
const SAMPLE_MS = 250;

export interface WorkerProcessOptions {
  /** Environment of the child (config path, database URL variable, TEMPORAL_ADDRESS...). */
  env: NodeJS.ProcessEnv;
  /** node --cpu-prof into this directory, or null. */
  cpuProfDir: string | null;
  /** node --max-old-space-size (MB), or null. */
  heapMb: number | null;
}

/** VmHWM (peak resident set) of a live process, in kilobytes; null when it cannot be read. */
export function readVmHwmKb(pid: number): number | null {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

export class WorkerProcess {
  private sampledPeakKb = 0;
  private reportedPeakKb = 0;
  private readonly sampler: NodeJS.Timeout;
  private readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.sampler = setInterval(() => this.sample(), SAMPLE_MS);
    this.sampler.unref();
  }

  static async start(opts: WorkerProcessOptions, cleanup: Cleanup): Promise<WorkerProcess> {
    const execArgv = [
      ...(opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(opts.cpuProfDir)}`] : []),
      ...(opts.heapMb ? [`--max-old-space-size=${opts.heapMb}`] : []),
    ];
    // The child's stdout (its JSON logs) goes to our stderr: our stdout is the result line only.
    const child = fork(path.join(__dirname, 'worker.js'), [], { env: opts.env, execArgv, stdio: ['ignore', 2, 2, 'ipc'] });
    const worker = new WorkerProcess(child);
    cleanup.add('stop worker child', () => worker.kill());
    await worker.waitFor('ready', READY_TIMEOUT_MS);
    progress(`worker child ${child.pid} is polling${execArgv.length ? ` (node ${execArgv.join(' ')})` : ''}`);
    return worker;
  }

  get pid(): number {
    return this.child.pid!;
  }

  private sample(): void {
    const kb = readVmHwmKb(this.pid);
    if (kb !== null) this.sampledPeakKb = Math.max(this.sampledPeakKb, kb);
  }

  /** Peak RSS in MB (1024 x 1024 bytes): the larger of the sampled VmHWM and the child's own maxRSS. */
  peakRssMb(): number {
    return Math.max(this.sampledPeakKb, this.reportedPeakKb) / 1024;
  }

  private waitFor<T extends FromWorker['type']>(type: T, timeoutMs: number): Promise<Extract<FromWorker, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`worker child: no "${type}" within ${timeoutMs / 1000}s`)), timeoutMs);
      const onMessage = (m: FromWorker) => {
        if (m.type === type) finish(null, m as Extract<FromWorker, { type: T }>);
        else if (m.type === 'error') finish(new Error(`worker child failed: ${m.message}`));
      };
      const onExit = (code: number | null, signal: string | null) =>
        finish(new Error(`worker child exited (code ${code}, signal ${signal}) before "${type}"`));
      const finish = (err: Error | null, m?: Extract<FromWorker, { type: T }>) => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        if (err) reject(err);
        else resolve(m!);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
    });
  }

  /** Graceful stop (the worker finishes in-flight tasks); returns the peak RSS in MB. */
  async stop(): Promise<number> {
    this.sample();
    const stopped = this.waitFor('stopped', STOP_TIMEOUT_MS);
    this.child.send({ type: 'stop' } satisfies ToWorker);
    const { maxRssKb } = await stopped;
    this.reportedPeakKb = maxRssKb;
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
    await this.kill();
    return this.peakRssMb();
  }

  /** Kills the child if it still runs (SIGTERM, then SIGKILL after 5 s). */
  async kill(): Promise<void> {
    clearInterval(this.sampler);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}
