import { Command } from 'commander';
import { getEnvironment } from '../../config/environment';
import { seedDemo } from '../../db/seed';
import { CliContext } from '../context';
import { environmentName, nonNegativeInt, positiveInt } from '../options';

export function seedDemoCommand(ctx: () => CliContext): Command {
  return new Command('seed-demo')
    .description("create plan_artifacts (the application's exact shape) if missing and fill it with deterministic demo data")
    .requiredOption('--env <environment>', 'environment from plandb.config.json', environmentName)
    .requiredOption('--plans <n>', 'number of plans', positiveInt)
    .requiredOption('--versions <n>', 'versions per plan', positiveInt)
    .requiredOption('--series <n>', 'series rows per version', positiveInt)
    .option('--bad <n>', 'extra malformed artifacts, cycling through every reject reason', nonNegativeInt, 0)
    .option('--seed <n>', 'random seed (same seed, same data)', nonNegativeInt, 1)
    .action(async (opts: { env: string; plans: number; versions: number; series: number; bad: number; seed: number }) => {
      const c = ctx();
      getEnvironment(c.config, opts.env);
      const result = await seedDemo(c.databases.pool(opts.env), opts);
      console.log(
        `seeded ${opts.env}: ${result.inserted} artifacts inserted, ${result.existing} already present ` +
          `(${opts.plans} plans x ${opts.versions} versions x ${opts.series} series, ${opts.bad} malformed)`,
      );
    });
}
