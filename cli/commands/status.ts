import { Command } from 'commander';
import { promotionStatusQuery, statusQuery } from '../../workflows/definitions';
import { renderEvidenceSummary } from '../../workflows/evidence-markdown';
import { CliContext } from '../context';
import { renderStatus, workflowSummary } from '../render-status';
import { queryProgress } from '../watch-backfill';
import { BACKFILL_WORKFLOW_TYPE, describeWorkflow } from '../workflow-handle';
import { renderPromotion } from './promote';

export function statusCommand(ctx: () => CliContext): Command {
  return new Command('status')
    .description("a workflow's type, status, times and search attributes, plus its own state: a backfill's progress, a migration's steps and gates, a promotion's stages")
    .argument('<workflow-id>', 'e.g. plandb-dev-backfill, plandb-staging-migration, plandb-promotion')
    .option('--json', 'print JSON: {workflow, progress | migration | promotion}')
    .action(async (workflowId: string, opts: { json?: boolean }) => {
      const { handle, description } = await describeWorkflow(await ctx().temporal(), workflowId);
      const workflow = workflowSummary(description);
      // Queries work on closed workflows too: Temporal replays the history to answer them.
      switch (description.type) {
        case BACKFILL_WORKFLOW_TYPE: {
          const progress = await queryProgress(handle);
          console.log(opts.json ? JSON.stringify({ workflow, progress: progress ?? null }, null, 2) : renderStatus(workflow, progress));
          return;
        }
        case 'environmentMigration': {
          const migration = await handle.query(statusQuery).catch(() => null);
          console.log(opts.json ? JSON.stringify({ workflow, migration }, null, 2) : [renderStatus(workflow), migration ? renderEvidenceSummary(migration) : ''].join('\n\n'));
          return;
        }
        case 'promotion': {
          const promotion = await handle.query(promotionStatusQuery).catch(() => null);
          console.log(opts.json ? JSON.stringify({ workflow, promotion }, null, 2) : [renderStatus(workflow), promotion ? renderPromotion(promotion) : ''].join('\n\n'));
          return;
        }
        default:
          console.log(opts.json ? JSON.stringify({ workflow }, null, 2) : renderStatus(workflow));
      }
    });
}
