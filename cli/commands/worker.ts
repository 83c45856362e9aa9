import { Command } from 'commander';
import { startWorker } from '../../worker/run-worker';
import { CliContext } from '../context';

export function workerCommand(ctx: () => CliContext): Command {
  return new Command('worker')
    .description(`run a worker on plandb's task queue (connection from TEMPORAL_* variables or a temporal.toml profile); Ctrl-C stops it after in-flight work`)
    .action(async () => {
      const running = await startWorker(ctx().config);
      await running.done;
    });
}
