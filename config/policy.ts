/** An environment's migration policy: its config section with the start input's overrides applied. */
import { CUTOVER_MODES, type MigrationOverrides, type MigrationPolicy } from '../model/migration';
import { ConfigError } from './errors';
import { parseDuration, type EnvironmentConfig } from './schema';

const HOUR_MS = 3_600_000;

function duration(field: string, text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new ConfigError(`${field}: ${(err as Error).message}`);
  }
}

export function resolvePolicy(environment: string, env: EnvironmentConfig, o: MigrationOverrides = {}): MigrationPolicy {
  const postCheckHours = o.postCheckHours ?? env.postCheckHours;
  if (!(postCheckHours >= 0)) throw new ConfigError(`postCheckHours: must be >= 0, got ${postCheckHours}`);
  const watchMs = postCheckHours * HOUR_MS;
  // Hourly by default, and at least four looks over a short watch.
  const intervalMs = o.postCheckInterval
    ? duration('postCheckInterval', o.postCheckInterval)
    : Math.min(HOUR_MS, Math.max(watchMs / 4, 1000));
  if (o.cutover !== undefined && !CUTOVER_MODES.includes(o.cutover))
    throw new ConfigError(`cutover: must be "online" or "offline", got ${JSON.stringify(o.cutover)}`);
  const approvalRequired = o.approvalRequired ?? env.approval.required;
  if (approvalRequired && !env.approval.approvers.length) {
    throw new ConfigError(`environments.${environment}.approval.approvers: an approval gate needs at least one approver`);
  }
  return {
    environment,
    approval: {
      required: approvalRequired,
      approvers: env.approval.approvers,
      timeoutMs: o.approvalTimeout ? duration('approvalTimeout', o.approvalTimeout) : env.approval.timeoutMs,
    },
    maintenance: { mode: env.maintenance.mode },
    maintenanceWindow: env.maintenanceWindow,
    backup: { enabled: o.skipBackup ? false : env.backup.enabled, upload: Boolean(env.backup.s3Uri) },
    backfill: {
      mode: o.backfillMode ?? env.backfill.mode,
      batchSize: o.batchSize ?? env.backfill.batchSize,
      sampleLimit: o.sampleLimit === undefined ? env.backfill.sampleLimit : o.sampleLimit,
      resume: o.resume ?? env.backfill.resume,
      maxErrors: env.backfill.maxErrors,
    },
    verify: { sample: env.verify.sample, representativePlans: env.verify.representativePlans },
    spotCheck: { required: o.spotCheckRequired ?? env.spotCheck.required },
    postCheck: { hours: postCheckHours, intervalMs },
    // Only when configured: a policy without targets stays as it was, in evidence and history.
    ...(env.notifications.length
      ? { notifications: env.notifications.map(({ kind, urlEnv, events }, index) => ({ index, kind, urlEnv, events })) }
      : {}),
    // Without maintenance there is no window to shorten: the offline order is the same steps.
    cutover: env.maintenance.mode === 'none' ? 'offline' : (o.cutover ?? env.cutover),
  };
}
