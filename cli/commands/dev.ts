import path from 'node:path';
import { Command } from 'commander';
import { runDevStack } from '../../runtime/dev-stack';
import { intInRange, nonNegativeInt, positiveInt } from '../options';

const port = intInRange(1, 65535);

export function devCommand(configPath: () => string | undefined): Command {
  return new Command('dev')
    .description(
      'run everything on this machine: embedded PostgreSQL, demo data, moto (S3 for backups), Temporal dev server + Web UI, worker',
    )
    .option('--pg-port <port>', 'embedded PostgreSQL port', port, 54329)
    .option('--temporal-port <port>', 'Temporal frontend port', port, 7233)
    .option('--ui-port <port>', 'Temporal Web UI port', port, 8233)
    .option('--s3-port <port>', "moto's port (the S3-compatible storage of backups that name no endpoint)", port, 54330)
    .option('--state-dir <path>', "where PostgreSQL's data and Temporal's workflows are kept (default .plandb)")
    .option('--demo-plans <n>', 'demo plans seeded into an empty legacy table', positiveInt, 50)
    .option('--demo-versions <n>', 'versions per demo plan', positiveInt, 3)
    .option('--demo-series <n>', 'series rows per demo version', positiveInt, 24)
    .option('--demo-bad <n>', 'malformed demo artifacts (cover every reject reason)', nonNegativeInt, 10)
    .action(
      async (opts: {
        pgPort: number;
        temporalPort: number;
        uiPort: number;
        s3Port: number;
        stateDir?: string;
        demoPlans: number;
        demoVersions: number;
        demoSeries: number;
        demoBad: number;
      }) => {
        await runDevStack({
          configPath: configPath(),
          stateDir: opts.stateDir && path.resolve(opts.stateDir),
          pgPort: opts.pgPort,
          temporalPort: opts.temporalPort,
          uiPort: opts.uiPort,
          s3Port: opts.s3Port,
          demo: { plans: opts.demoPlans, versions: opts.demoVersions, series: opts.demoSeries, bad: opts.demoBad },
          say: (line) => console.log(line),
        });
      },
    );
}
