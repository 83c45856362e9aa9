import { Command } from 'commander';
import { createBackupActivities } from '../../activities/backup';
import { getEnvironment } from '../../config/environment';
import { logger } from '../../logging/logger';
import { createMetrics } from '../../metrics/registry';
import { CliContext } from '../context';
import { CliFailure } from '../errors';
import { environmentName } from '../options';

export function backupCommand(ctx: () => CliContext): Command {
  return new Command('backup')
    .description("back up an environment's database now (pg_dump -Fc, 0600, sha256, pg_restore --list, optional S3 upload, a plan_db_backups row)")
    .requiredOption('--env <environment>', 'environment from plandb.config.json', environmentName)
    .action(async (opts: { env: string }) => {
      const c = ctx();
      getEnvironment(c.config, opts.env);
      // The same activity code the migration's backup step runs, called here without Temporal.
      const { backup } = createBackupActivities({ config: c.config, databases: c.databases, metrics: createMetrics(), logger, env: process.env });
      const result = await backup({ environment: opts.env });
      console.log(JSON.stringify(result, null, 2));
      if (result.skipped) throw new CliFailure(`backup of ${opts.env} skipped: ${result.reason}`);
    });
}
