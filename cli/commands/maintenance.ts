/**
 * `plandb maintenance status|on|off`: the environment's maintenance switch by hand, through the same
 * code the migration's setMaintenance activity runs. Lifting a flag that a running workflow holds is
 * refused unless --force: that workflow turns it off itself when it is done.
 */
import { Command, InvalidArgumentError } from 'commander';
import { createMaintenanceActivities, createMaintenanceStatus, MaintenanceStatus } from '../../activities/maintenance';
import type { WorkflowLiveness } from '../../activities/deps';
import { getEnvironment } from '../../config/environment';
import { logger } from '../../logging/logger';
import { createMetrics } from '../../metrics/registry';
import { checkText, MAX_NAME } from '../../model/text';
import { temporalLiveness } from '../../worker/liveness';
import { CliContext } from '../context';
import { CliFailure } from '../errors';
import { environmentName, osUser } from '../options';

function textOption(field: string, opts: Parameters<typeof checkText>[2]) {
  return (value: string): string => {
    const problem = checkText(field, value, opts);
    if (problem) throw new InvalidArgumentError(problem);
    return value;
  };
}
const actorName = textOption('by', { max: MAX_NAME, required: true, singleLine: true });
const reasonText = textOption('reason', { required: true });

/** Whether the owner still runs; `error` when Temporal could not tell. */
type OwnerState = WorkflowLiveness | { error: string } | null;

async function ownerState(c: CliContext, owner: string | null): Promise<OwnerState> {
  if (!owner) return null;
  try {
    return await temporalLiveness((await c.temporal()).workflow)(owner);
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function describeOwner(status: MaintenanceStatus, owner: OwnerState): string {
  if (status.mode === 'http') return 'owner: unknown (the http switch does not record one)';
  if (!status.ownerWorkflowId || !owner) return 'owner: none (set by hand, or off)';
  if ('error' in owner) return `owner: ${status.ownerWorkflowId} (running: unknown, ${owner.error})`;
  return `owner: ${status.ownerWorkflowId} (${owner.running ? 'running' : `not running: ${owner.status}`})`;
}

function render(status: MaintenanceStatus, owner: OwnerState): string {
  if (status.mode === 'none') return `${status.environment}: maintenance mode "none": there is no switch to show or turn`;
  const state = status.enabled === null ? 'unknown (the endpoint does not report its state)' : status.enabled ? 'ON' : 'off';
  return [
    `${status.environment}: maintenance ${state} (mode ${status.mode})`,
    `  since: ${status.since ?? '-'}`,
    `  reason: ${status.reason ?? '-'}`,
    `  actor: ${status.actor ?? '-'}`,
    `  ${describeOwner(status, owner)}`,
  ].join('\n');
}

const jsonOf = (status: MaintenanceStatus, owner: OwnerState) => ({
  ...status,
  owner: owner && !('error' in owner) ? { running: owner.running, status: owner.status } : owner,
});

interface ChangeOptions {
  env: string;
  by: string;
  reason?: string;
  force?: boolean;
  json?: boolean;
}

// The CLI's deps for activity code, as `plandb backup` builds them.
const depsOf = (c: CliContext) => ({ config: c.config, databases: c.databases, metrics: createMetrics(), logger, env: process.env });

async function change(c: CliContext, enabled: boolean, opts: ChangeOptions): Promise<void> {
  const deps = depsOf(c);
  const mode = getEnvironment(c.config, opts.env).maintenance.mode;
  if (mode === 'none')
    throw new CliFailure(`${opts.env}: maintenance mode is "none": there is no switch to turn ${enabled ? 'on' : 'off'}`);
  const before = await createMaintenanceStatus(deps)(opts.env);
  const owner = before.enabled ? await ownerState(c, before.ownerWorkflowId) : null;
  if (!enabled && owner && !opts.force && ('error' in owner || owner.running)) {
    const why = 'error' in owner ? `Temporal cannot tell whether it still runs (${owner.error})` : 'it is still running';
    throw new CliFailure(
      `${opts.env}: maintenance is held by workflow ${before.ownerWorkflowId} and ${why}; it lifts maintenance when it ends. ` +
        `Stop it instead (\`temporal workflow cancel --workflow-id ${before.ownerWorkflowId}\` or the Web UI's Request Cancellation: ` +
        `the migration lifts maintenance as it stops), or pass --force to lift it anyway`,
    );
  }
  const { setMaintenance } = createMaintenanceActivities(deps);
  const result = await setMaintenance({
    environment: opts.env,
    enabled,
    actor: opts.by,
    reason: opts.reason ?? `plandb maintenance ${enabled ? 'on' : 'off'}`,
    // Turning it on again while a workflow holds it keeps that workflow the owner, so its own "off" and the reconciler still apply.
    owner: enabled ? (before.ownerWorkflowId ?? undefined) : undefined,
  });
  const after = await createMaintenanceStatus(deps)(opts.env);
  const afterOwner = await ownerState(c, after.ownerWorkflowId);
  console.log(opts.json ? JSON.stringify({ changed: result.changed, ...jsonOf(after, afterOwner) }, null, 2) : render(after, afterOwner));
}

export function maintenanceCommand(ctx: () => CliContext): Command {
  const env = ['--env <environment>', 'environment from plandb.config.json', environmentName] as const;
  const json = ['--json', 'print JSON'] as const;
  const changeCommand = (name: 'on' | 'off') => {
    const cmd = new Command(name)
      .description(
        name === 'on'
          ? 'turn maintenance on (the Plan creation API refuses writes)'
          : 'lift maintenance; refused while the workflow that turned it on still runs, unless --force',
      )
      .requiredOption(...env)
      .option('--by <name>', 'who asks (recorded with the change; default: the OS user)', actorName, osUser())
      .option('--reason <text>', 'why (recorded with the change)', reasonText)
      .option(...json);
    if (name === 'off') cmd.option('--force', 'lift it even while its owner workflow runs (or Temporal cannot tell)');
    return cmd.action((opts: ChangeOptions) => change(ctx(), name === 'on', opts));
  };
  return new Command('maintenance')
    .description("show or turn an environment's maintenance switch (db-flag or http), recording who and why")
    .addCommand(
      new Command('status')
        .description('the switch: on/off, since, reason, actor, and the owner workflow and whether it still runs')
        .requiredOption(...env)
        .option(...json)
        .action(async (opts: { env: string; json?: boolean }) => {
          const c = ctx();
          const status = await createMaintenanceStatus(depsOf(c))(opts.env);
          const owner = await ownerState(c, status.ownerWorkflowId);
          console.log(opts.json ? JSON.stringify(jsonOf(status, owner), null, 2) : render(status, owner));
        }),
    )
    .addCommand(changeCommand('on'))
    .addCommand(changeCommand('off'));
}
