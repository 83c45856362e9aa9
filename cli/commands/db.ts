import { Command } from 'commander';
import { getEnvironment } from '../../config/environment';
import { withClient } from '../../db/connection';
import { MigrationStatus, migrationStatus, upgrade } from '../../db/migrator';
import { CliContext } from '../context';
import { CliFailure } from '../errors';
import { environmentName } from '../options';

export function renderMigrationStatus(env: string, s: MigrationStatus): string {
  const lines = [
    `environment ${env}: ${s.atHead ? 'at head' : s.drift.length ? 'DRIFT' : 'behind head'} (head ${s.head ?? '-'}, current ${s.current ?? '-'})`,
  ];
  for (const a of s.applied) lines.push(`  applied  ${a.name ?? '(no file)'}  ${a.hash.slice(0, 12)}`);
  for (const p of s.pending) lines.push(`  pending  ${p.name}  ${p.hash.slice(0, 12)}`);
  for (const d of s.drift) lines.push(`  DRIFT    ${d.message}`);
  return lines.join('\n');
}

export function dbCommand(ctx: () => CliContext): Command {
  const db = new Command('db').description('schema migrations of the PlanRepository (drizzle, wrapped with a lock and a drift check)');
  db.command('status')
    .description('list applied and pending migrations by name and hash; report drift')
    .requiredOption('--env <environment>', 'environment from plandb.config.json', environmentName)
    .option('--json', 'print JSON')
    .action(async (opts: { env: string; json?: boolean }) => {
      const c = ctx();
      getEnvironment(c.config, opts.env);
      const status = await withClient(c.databases.pool(opts.env), (client) => migrationStatus(client));
      console.log(opts.json ? JSON.stringify(status, null, 2) : renderMigrationStatus(opts.env, status));
      if (status.drift.length) throw new CliFailure('migration drift found (see above)');
    });
  db.command('upgrade')
    .description('apply pending migrations to head under an advisory lock; refuses on drift')
    .requiredOption('--env <environment>', 'environment from plandb.config.json', environmentName)
    .action(async (opts: { env: string }) => {
      const c = ctx();
      getEnvironment(c.config, opts.env);
      const result = await withClient(c.databases.pool(opts.env), (client) => upgrade(client));
      console.log(
        result.applied.length
          ? `applied ${result.applied.length} migration(s): ${result.applied.join(', ')}; now at head ${result.head}`
          : `nothing to apply; at head ${result.head}`,
      );
    });
  return db;
}
