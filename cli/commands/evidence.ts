import { Command, Option } from 'commander';
import { getMigrationRun } from '../../db/migration-runs';
import type { MigrationEvidence } from '../../model/migration';
import { statusQuery } from '../../workflows/definitions';
import { renderEvidenceMarkdown } from '../../workflows/evidence-markdown';
import { CliContext } from '../context';
import { CliFailure } from '../errors';
import { environmentName } from '../options';

/** `plandb-<env>-migration` → env. */
export function environmentOfWorkflow(workflowId: string): string | null {
  return /^plandb-([a-z][a-z0-9-]{0,30})-migration$/.exec(workflowId)?.[1] ?? null;
}

/**
 * The evidence rendered from its rows in plan_migration_runs/plan_migration_steps (they outlive
 * Temporal's retention); from the workflow's `status` query only while no row exists yet (before an
 * environment's first schema migration) or when the environment cannot be told from the id.
 */
async function loadEvidence(c: CliContext, workflowId: string, env: string | undefined): Promise<MigrationEvidence> {
  const environment = env ?? environmentOfWorkflow(workflowId);
  const stored = environment ? await getMigrationRun(c.databases.pool(environment), workflowId) : null;
  if (stored) return stored;
  const live = await c
    .temporal()
    .then((client) => client.workflow.getHandle(workflowId).query(statusQuery))
    .catch(() => null);
  if (live) return live;
  if (!environment)
    throw new CliFailure(`${workflowId} is not in Temporal; name its environment with --env to read the evidence from the database`);
  throw new CliFailure(`no evidence for ${workflowId} in Temporal or in ${environment}'s plan_migration_runs`);
}

export function evidenceCommand(ctx: () => CliContext): Command {
  return new Command('evidence')
    .description("a migration's evidence (steps, approvals, backup, migration head, counts, verification) as Markdown or JSON")
    .argument('<workflow-id>', 'e.g. plandb-staging-migration')
    .addOption(new Option('--format <format>', 'md or json').choices(['md', 'json']).default('md'))
    .option('--env <environment>', 'where to read stored evidence when Temporal no longer has the workflow', environmentName)
    .action(async (workflowId: string, opts: { format: 'md' | 'json'; env?: string }) => {
      const evidence = await loadEvidence(ctx(), workflowId, opts.env);
      console.log(opts.format === 'json' ? JSON.stringify(evidence, null, 2) : renderEvidenceMarkdown(evidence));
    });
}
