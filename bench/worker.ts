/**
 * Worker child process of the benchmark: the real plandb worker (config loader, createWorker over the
 * real activities, the prebuilt workflow bundle), run in its own process so that its peak RSS is its
 * own. Controlled over IPC by bench/worker-process.ts; reports its peak RSS when told to stop.
 */
import { loadConfig } from '../config/load';
import { startWorker } from '../worker/run-worker';
import type { FromWorker, ToWorker } from './worker-protocol';

function send(message: FromWorker): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('bench/worker.js is started by the benchmark (node dist/bench/run.js), not directly');
  const worker = await startWorker(loadConfig());
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => (stopping ??= worker.shutdown());
  process.on('message', (message: ToWorker) => {
    if (message.type !== 'stop') return;
    void stop().then(
      () => {
        send({ type: 'stopped', maxRssKb: process.resourceUsage().maxRSS });
        process.disconnect();
      },
      (err: Error) => {
        send({ type: 'error', message: err.message });
        process.exitCode = 1;
        process.disconnect();
      },
    );
  });
  // The benchmark went away without telling us: stop as well.
  process.on('disconnect', () => void stop());
  send({ type: 'ready', pid: process.pid });
  await worker.done;
}

main().catch((err: Error) => {
  send({ type: 'error', message: err.stack ?? err.message });
  process.exitCode = 1;
  if (process.connected) process.disconnect();
});
