import { Command } from 'commander';
import { startWorker } from '../../worker/run-worker';
import { CliContext } from '../context';

export function workerCommand(ctx: () => CliContext): Command {
  return new Command('worker')
    .description(`run a worker on plandb's task queue (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE); Ctrl-C stops it after in-flight work`)
    .action(async () => {
      const running = await startWorker(ctx().config);
      await running.done;
    });
}
