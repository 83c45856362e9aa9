/** `plandb`: the operator's command line (commander). Exit codes: cli/errors.ts. */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/load';
import { backfillCommand } from './commands/backfill';
import { backupCommand } from './commands/backup';
import { pauseCommand, resumeCommand, setBatchSizeCommand } from './commands/backfill-control';
import { dbCommand } from './commands/db';
import { devCommand } from './commands/dev';
import { evidenceCommand } from './commands/evidence';
import { approveCommand, decideCommand, rejectCommand } from './commands/gates';
import { legacyUsageCommand } from './commands/legacy-usage';
import { maintenanceCommand } from './commands/maintenance';
import { migrateCommand } from './commands/migrate';
import { promoteCommand } from './commands/promote';
import { drillCommand, rollbackCommand } from './commands/rollback';
import { preflightCommand } from './commands/preflight';
import { scheduleCommand } from './commands/schedule';
import { seedDemoCommand } from './commands/seed-demo';
import { statusCommand } from './commands/status';
import { trimCommand } from './commands/trim';
import { workerCommand } from './commands/worker';
import { CliContext } from './context';
import { CliFailure, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './errors';

export function buildProgram(ctx: () => CliContext): Command {
  const program = new Command('plandb')
    .description('Moves plan_artifacts into the PlanRepository, environment by environment, as Temporal workflows')
    .option('--config <path>', 'config file (default: $PLANDB_CONFIG or ./plandb.config.json)')
    .configureHelp({ sortSubcommands: true });
  const configPath = () => program.opts<{ config?: string }>().config;
  const commands = [
    approveCommand(ctx),
    backfillCommand(ctx),
    backupCommand(ctx),
    dbCommand(ctx),
    decideCommand(ctx),
    devCommand(configPath),
    drillCommand(ctx),
    evidenceCommand(ctx),
    legacyUsageCommand(ctx),
    maintenanceCommand(ctx),
    migrateCommand(ctx),
    pauseCommand(ctx),
    preflightCommand(ctx),
    promoteCommand(ctx),
    rejectCommand(ctx),
    resumeCommand(ctx),
    rollbackCommand(ctx),
    scheduleCommand(ctx),
    seedDemoCommand(ctx),
    setBatchSizeCommand(ctx),
    statusCommand(ctx),
    trimCommand(ctx),
    workerCommand(ctx),
  ];
  for (const cmd of commands) {
    program.addCommand(cmd);
  }
  throwUsageErrors(program);
  return program;
}

/** Commander exits by itself unless told otherwise, on every level: make all of them throw instead. */
function throwUsageErrors(cmd: Command): void {
  cmd.showHelpAfterError().exitOverride();
  cmd.commands.forEach(throwUsageErrors);
}

export async function main(argv: string[]): Promise<number> {
  let context: CliContext | undefined;
  const program = buildProgram(() => (context ??= new CliContext(program.opts<{ config?: string }>().config)));
  try {
    await program.parseAsync(argv);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; everything else commander rejects (a missing command too) is a usage error.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof ConfigError) {
      console.error(`plandb: configuration error:\n${err.message}`);
      return EXIT_FAILED;
    }
    if (err instanceof CliFailure) {
      console.error(`plandb: ${err.message}`);
      return err.exitCode;
    }
    console.error(`plandb: ${(err as Error)?.message ?? String(err)}`);
    if (process.env.PLANDB_DEBUG) console.error(err);
    return EXIT_FAILED;
  } finally {
    await context?.close();
  }
}
