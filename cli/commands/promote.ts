import { Command, InvalidArgumentError } from 'commander';
import { getEnvironment } from '../../config/environment';
import { checkEnvironmentName } from '../../model/ids';
import { promotionStatusQuery, PromotionStatus } from '../../workflows/definitions';
import { CliContext } from '../context';
import { followWorkflow, printStarted, reconnectVia } from '../follow-workflow';
import { reconnectTimeoutOption } from '../reconnect';
import { startWorkflow } from '../start-workflow';
import { overridesFrom, withPolicyOverrides } from './migrate';

export const PROMOTION_WORKFLOW_ID = 'plandb-promotion';

function environmentList(value: string): string[] {
  const envs = value.split(',').map((e) => e.trim());
  for (const e of envs) {
    const problem = checkEnvironmentName(e);
    if (problem) throw new InvalidArgumentError(problem);
  }
  return envs;
}

export function renderPromotion(s: PromotionStatus): string {
  return [
    ...s.stages.map((st) => `${st.environment.padEnd(12)} ${st.status.padEnd(12)} ${st.workflowId}`),
    s.openGate ? `waiting at gate ${s.openGate}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

export function promoteCommand(ctx: () => CliContext): Command {
  return withPolicyOverrides(
    new Command('promote')
      .description('promote through environments in order (promotion): each runs environmentMigration, with a promote gate between stages')
      .option('--envs <list>', 'comma-separated environments, in order', environmentList, ['dev', 'staging', 'production'])
      .option('--no-wait', 'print the workflow id and return')
      .addOption(reconnectTimeoutOption()),
  ).action(async (opts: Record<string, unknown> & { envs: string[]; wait: boolean; reconnectTimeout: number }) => {
    const c = ctx();
    for (const e of opts.envs) getEnvironment(c.config, e);
    const client = await c.temporal();
    const handle = await startWorkflow(client, {
      workflowType: 'promotion',
      workflowId: PROMOTION_WORKFLOW_ID,
      environment: opts.envs[0],
      taskQueue: c.config.temporal.taskQueue,
      input: { environments: opts.envs, overrides: overridesFrom(opts) },
      summary: `promotion ${opts.envs.join(' → ')}`,
    });
    if (!opts.wait) {
      await printStarted(c, handle);
      return;
    }
    let last = '';
    const closed = await followWorkflow<PromotionStatus, PromotionStatus>(handle, {
      poll: () => handle.query(promotionStatusQuery).catch(() => null),
      onState: (s) => {
        const text = renderPromotion(s);
        if (text !== last) console.error((last = text));
      },
      reconnect: reconnectVia(c, opts.reconnectTimeout),
      intervalMs: 2000,
    });
    if ('failure' in closed) throw closed.failure;
    console.log(renderPromotion(closed.result));
  });
}
