/**
 * Shape of `plandb.config.json` (SPEC §5). Objects are strict so a misspelt key is an error instead of
 * a silently ignored setting; every field has a default so `{ "databaseUrlEnv": "X" }` is a valid
 * environment. Messages here never echo the offending value: a secret pasted into the wrong field
 * must not reach a terminal or a log.
 */
import { DEFAULT_BATCH_SIZE, MAX_SHARDS } from '../model/backfill';
import { MAX_TARGET_SECONDS } from '../model/batch-tuner';
import { checkTimeZone, parseWindowDays, parseWindowHours } from '../model/maintenance-window';
import { BULK_LOAD_MODES, DEFAULT_MAINTENANCE_WORK_MEM, MEMORY_SETTING_PATTERN } from '../model/bulk-load';
import { DEFAULT_CATCH_UP, MAX_CATCH_UP_PASSES } from '../model/catch-up';
import { CUTOVER_MODES, defaultCutover } from '../model/migration';
import { DEFAULT_VERIFY_PARALLEL, MAX_VERIFY_PARALLEL } from '../model/verify';
import { NOTIFICATION_EVENTS, NOTIFICATION_KINDS } from '../model/notifications';
import { z } from 'zod';
import type { TemporalCredentials } from './temporal-connection';

export const ENVIRONMENT_NAME_PATTERN = /^[a-z][a-z0-9-]{0,30}$/;
export const ENV_VAR_NAME_PATTERN = /^[A-Z_][A-Z0-9_]*$/;
export const MAX_BATCH_SIZE = 50_000;

const DURATION_UNITS_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_PATTERN = /^([1-9][0-9]*)([smhd])$/;
// Caps typos like "3000d"; no approval gate should wait longer than a year.
const MAX_DURATION_MS = 365 * DURATION_UNITS_MS.d;

/** Milliseconds of a duration like "90s", "30m", "24h", "7d"; throws on anything else. */
export function parseDuration(text: string): number {
  const match = DURATION_PATTERN.exec(text);
  if (!match) throw new Error(`invalid duration "${text}" (expected e.g. 30m, 24h, 7d)`);
  return Number(match[1]) * DURATION_UNITS_MS[match[2] as keyof typeof DURATION_UNITS_MS];
}

const durationSchema = z.string().superRefine((text, ctx) => {
  if (!DURATION_PATTERN.test(text)) {
    ctx.addIssue({ code: 'custom', message: 'must be a duration like "30m", "24h" or "7d" (units s, m, h, d)' });
  } else if (parseDuration(text) > MAX_DURATION_MS) {
    ctx.addIssue({ code: 'custom', message: 'must be at most 365d' });
  }
});

/** Fields that name an environment variable, so credentials stay out of the file and workflow inputs. */
function envVarNameSchema(example: string) {
  return z.string().superRefine((name, ctx) => {
    if (ENV_VAR_NAME_PATTERN.test(name)) return;
    const looksLikeUrl = name.includes('://') || /^postgres(ql)?:/i.test(name);
    ctx.addIssue({
      code: 'custom',
      message: looksLikeUrl
        ? 'must name an environment variable, not contain the URL'
        : `must be an environment variable name such as ${example} (A-Z, 0-9, _)`,
    });
  });
}

const httpUrlSchema = z.string().superRefine((text, ctx) => {
  let protocol = '';
  try {
    protocol = new URL(text).protocol;
  } catch {
    // Reported below like any other non-http value.
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
  }
});

const positiveIntOrNull = z.number().int().positive().nullable().default(null);

export const backupSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    // Defaults to `.plandb/backups/<environment>`, filled in where the environment name is known.
    dir: z.string().min(1).optional(),
    s3Uri: z
      .string()
      .regex(/^s3:\/\/[^/\s]+(\/\S*)?$/, { error: 'must be an s3://bucket[/prefix] URI' })
      .optional(),
    s3EndpointEnv: envVarNameSchema('PLANDB_S3_ENDPOINT').optional(),
    s3RegionEnv: envVarNameSchema('PLANDB_S3_REGION').optional(),
    s3AccessKeyIdEnv: envVarNameSchema('PLANDB_S3_ACCESS_KEY_ID').optional(),
    s3SecretAccessKeyEnv: envVarNameSchema('PLANDB_S3_SECRET_ACCESS_KEY').optional(),
  })
  .superRefine((backup, ctx) => {
    if (backup.s3Uri !== undefined) return;
    for (const key of ['s3EndpointEnv', 's3RegionEnv', 's3AccessKeyIdEnv', 's3SecretAccessKeyEnv'] as const) {
      if (backup[key] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'is only used with backup.s3Uri, which is not set' });
      }
    }
  });

export const maintenanceSchema = z
  .strictObject({
    mode: z.enum(['none', 'db-flag', 'http']).default('none'),
    url: httpUrlSchema.optional(),
    tokenEnv: envVarNameSchema('PLANDB_MAINTENANCE_TOKEN').optional(),
  })
  .superRefine((maintenance, ctx) => {
    if (maintenance.mode === 'http') {
      if (maintenance.url === undefined) {
        ctx.addIssue({ code: 'custom', path: ['url'], message: 'is required when mode is "http"' });
      }
      return;
    }
    // A url or token with another mode means the switch the operator expects is not the one used.
    for (const key of ['url', 'tokenEnv'] as const) {
      if (maintenance[key] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'is only used when mode is "http"' });
      }
    }
  });

export const approvalSchema = z
  .strictObject({
    required: z.boolean().default(false),
    approvers: z.array(z.string().trim().min(1)).default([]),
    timeout: durationSchema.default('24h'),
  })
  .superRefine((approval, ctx) => {
    if (approval.required && approval.approvers.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['approvers'],
        message: 'must list at least one approver when approval.required is true',
      });
    }
    const seen = new Set<string>();
    approval.approvers.forEach((approver, index) => {
      if (seen.has(approver)) ctx.addIssue({ code: 'custom', path: ['approvers', index], message: 'is listed twice' });
      seen.add(approver);
    });
  })
  .transform((approval) => ({ ...approval, timeoutMs: parseDuration(approval.timeout) }));

const nonNegativeOrNull = z.number().min(0).nullable().default(null);

/** Health probes checked between backfill batches (model/throttle.ts); each is off by default. */
export const throttleSchema = z
  .strictObject({
    // Wait while more lock requests than this wait on the repository and legacy tables.
    maxLockWaits: z.number().int().min(0).nullable().default(null),
    // Wait while another backend's transaction is older than this.
    maxTransactionSeconds: nonNegativeOrNull,
    autovacuum: z.boolean().default(false),
    maxReplicationLagSeconds: nonNegativeOrNull,
    maxReplicationLagBytes: z.number().int().min(0).nullable().default(null),
    // Lag is read on this replica when set, else from the primary's pg_stat_replication.
    replicaUrlEnv: envVarNameSchema('PLANDB_PRODUCTION_REPLICA_URL').optional(),
    // gh-ost's --throttle-query: one number; > 0 means wait.
    query: z.string().trim().min(1).nullable().default(null),
    initialWait: durationSchema.default('1s'),
    maxWait: durationSchema.default('30s'),
  })
  .superRefine((t, ctx) => {
    if (t.replicaUrlEnv !== undefined && t.maxReplicationLagSeconds === null && t.maxReplicationLagBytes === null) {
      ctx.addIssue({
        code: 'custom',
        path: ['replicaUrlEnv'],
        message: 'is only used with maxReplicationLagSeconds or maxReplicationLagBytes',
      });
    }
    if (
      DURATION_PATTERN.test(t.initialWait) &&
      DURATION_PATTERN.test(t.maxWait) &&
      parseDuration(t.maxWait) < parseDuration(t.initialWait)
    ) {
      ctx.addIssue({ code: 'custom', path: ['maxWait'], message: 'must be at least initialWait' });
    }
  })
  .transform((t) => ({ ...t, initialWaitMs: parseDuration(t.initialWait), maxWaitMs: parseDuration(t.maxWait) }));

const SHARDS_ERROR = `must be "auto" or a whole number from 1 to ${MAX_SHARDS}`;

/** The self-tuning batch size (model/batch-tuner.ts): the size moves within [min, max] toward targetSeconds a batch. */
export const tuningSchema = z
  .strictObject({
    targetSeconds: z.number().positive().max(MAX_TARGET_SECONDS).default(1),
    minBatchSize: z.number().int().min(1).max(MAX_BATCH_SIZE).default(50),
    maxBatchSize: z.number().int().min(1).max(MAX_BATCH_SIZE).default(5000),
    enabled: z.boolean().default(true),
  })
  .superRefine((t, ctx) => {
    if (t.maxBatchSize < t.minBatchSize) ctx.addIssue({ code: 'custom', path: ['maxBatchSize'], message: 'must be at least minBatchSize' });
  });

/** Catch-up passes (model/catch-up.ts): after the range, what the application appended meanwhile, until a pass is small. */
export const catchUpSchema = z.strictObject({
  enabled: z.boolean().default(DEFAULT_CATCH_UP.enabled),
  maxPasses: z.number().int().min(1).max(MAX_CATCH_UP_PASSES).default(DEFAULT_CATCH_UP.maxPasses),
  untilRows: z.number().int().min(0).default(DEFAULT_CATCH_UP.untilRows),
  untilSeconds: z.number().min(0).default(DEFAULT_CATCH_UP.untilSeconds),
});

export const backfillSchema = z
  .strictObject({
    mode: z.enum(['normal', 'force']).default('normal'),
    batchSize: z.number().int().min(1).max(MAX_BATCH_SIZE).default(DEFAULT_BATCH_SIZE),
    // Staging's "limit 5 dry-run": a sample run of this many artifacts before the full backfill.
    sampleLimit: positiveIntOrNull,
    resume: z.boolean().default(false),
    maxErrors: z.number().int().min(0).default(1000),
    throttle: throttleSchema.prefault({}),
    tuning: tuningSchema.prefault({}),
    // Parts of a run's range processed at once (by any workers); "auto": the database server's cores.
    shards: z
      .union([z.literal('auto'), z.number()], { error: SHARDS_ERROR })
      .refine((v) => v === 'auto' || (Number.isInteger(v) && v >= 1 && v <= MAX_SHARDS), { error: SHARDS_ERROR })
      .default('auto'),
    // A first load into an empty repository builds keys and foreign keys after the load (db/bulk-load.ts).
    bulkLoad: z.enum(BULK_LOAD_MODES).default('auto'),
    bulkLoadMaintenanceWorkMem: z
      .string()
      .regex(MEMORY_SETTING_PATTERN, { error: 'must be a PostgreSQL memory size such as "512MB" (kB, MB or GB)' })
      .default(DEFAULT_MAINTENANCE_WORK_MEM),
    catchUp: catchUpSchema.prefault({}),
  })
  .superRefine((b, ctx) => {
    // The tuner would clamp it on the first batch: a size it never uses is a mistake in the file. (Zod runs
    // this after other issues too: a batchSize or bounds already reported are not judged again.)
    const { enabled, minBatchSize, maxBatchSize } = b.tuning;
    const valid = (n: unknown) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= MAX_BATCH_SIZE;
    if (!enabled || ![b.batchSize, minBatchSize, maxBatchSize].every(valid) || minBatchSize > maxBatchSize) return;
    if (b.batchSize < minBatchSize || b.batchSize > maxBatchSize) {
      ctx.addIssue({
        code: 'custom',
        path: ['batchSize'],
        message: 'must be within tuning.minBatchSize..tuning.maxBatchSize while tuning is enabled (or set tuning.enabled to false)',
      });
    }
  });

const SAMPLE_ERROR = 'must be "all" or a fraction of versions (0 < x <= 1)';

export const verifySchema = z.strictObject({
  sample: z
    .union([z.literal('all'), z.number().gt(0, { error: SAMPLE_ERROR }).lte(1, { error: SAMPLE_ERROR })], {
      error: SAMPLE_ERROR,
    })
    .default('all'),
  representativePlans: z.number().int().min(3).default(3),
  // Sessions (connections) walking the artifact id range at once; see db/verification.ts.
  parallel: z.number().int().min(1).max(MAX_VERIFY_PARALLEL).default(DEFAULT_VERIFY_PARALLEL),
  httpBaseUrl: httpUrlSchema.optional(),
});

export const capacitySchema = z.strictObject({
  maxRows: positiveIntOrNull,
  alertThreshold: positiveIntOrNull,
});

export const spotCheckSchema = z.strictObject({
  required: z.boolean().default(false),
});

/** A webhook the migration posts its events to (model/notifications.ts); the URL is a secret, so only its variable is named. */
export const notificationTargetSchema = z
  .strictObject({
    kind: z.enum(NOTIFICATION_KINDS),
    urlEnv: envVarNameSchema('PLANDB_PRODUCTION_WEBHOOK_URL'),
    // Omitted: every event.
    events: z.array(z.enum(NOTIFICATION_EVENTS)).min(1).optional(),
  })
  .superRefine((t, ctx) => {
    const seen = new Set<string>();
    t.events?.forEach((event, index) => {
      if (seen.has(event)) ctx.addIssue({ code: 'custom', path: ['events', index], message: 'is listed twice' });
      seen.add(event);
    });
  })
  .transform((t) => ({ ...t, events: t.events ?? [...NOTIFICATION_EVENTS] }));

export const notificationsSchema = z
  .array(notificationTargetSchema)
  .max(10)
  .superRefine((targets, ctx) => {
    // The same webhook twice would post every message twice.
    const seen = new Set<string>();
    targets.forEach((t, index) => {
      if (seen.has(t.urlEnv))
        ctx.addIssue({ code: 'custom', path: [index, 'urlEnv'], message: 'names the same variable as an earlier target' });
      seen.add(t.urlEnv);
    });
  });

/** Reports what a model parser throws (its messages name no value) as an issue. */
const issuesOf =
  <T>(parse: (value: T) => unknown) =>
  (value: T, ctx: z.RefinementCtx) => {
    try {
      parse(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  };

/** When maintenance may be turned on (model/maintenance-window.ts): days and hours in a named time zone. */
export const maintenanceWindowSchema = z
  .strictObject({
    timeZone: z.string().superRefine((zone, ctx) => {
      const problem = checkTimeZone(zone);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    days: z
      .union([z.string(), z.array(z.string())], { error: 'must be day names such as ["sat","sun"] or a range such as "mon-fri"' })
      .superRefine(issuesOf(parseWindowDays))
      .default('*'),
    hours: z.string().superRefine(issuesOf(parseWindowHours)),
    maxLength: durationSchema.optional(),
  })
  .transform((w) => ({
    timeZone: w.timeZone,
    days: parseWindowDays(w.days),
    hours: w.hours,
    maxLengthMs: w.maxLength === undefined ? null : parseDuration(w.maxLength),
  }));

const environmentFields = z.strictObject({
  databaseUrlEnv: envVarNameSchema('PLANDB_DEV_DATABASE_URL'),
  // prefault (not default) so an omitted section still gets its fields' defaults.
  backup: backupSchema.prefault({}),
  maintenance: maintenanceSchema.prefault({}),
  maintenanceWindow: maintenanceWindowSchema.nullable().default(null),
  approval: approvalSchema.prefault({}),
  backfill: backfillSchema.prefault({}),
  verify: verifySchema.prefault({}),
  capacity: capacitySchema.prefault({}),
  spotCheck: spotCheckSchema.prefault({}),
  postCheckHours: z.number().min(0).default(0),
  notifications: notificationsSchema.default([]),
  // Default by name (below): online for the environment named production, offline elsewhere.
  cutover: z.enum(CUTOVER_MODES).optional(),
});

const environmentFileSchema = environmentFields.superRefine((e, ctx) => {
  // A window only matters to the switch it times.
  if (e.maintenanceWindow && e.maintenance.mode === 'none')
    ctx.addIssue({ code: 'custom', path: ['maintenanceWindow'], message: 'is only used when maintenance.mode is "db-flag" or "http"' });
});

export const temporalFileSchema = z.strictObject({
  address: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
  taskQueue: z.string().min(1).optional(),
});

export const plandbConfigFileSchema = z.strictObject({
  temporal: temporalFileSchema.optional(),
  environments: z
    .record(
      z.string().regex(ENVIRONMENT_NAME_PATTERN, {
        error: `environment names must be lowercase identifiers matching ${ENVIRONMENT_NAME_PATTERN}`,
      }),
      environmentFileSchema,
    )
    .refine((environments) => Object.keys(environments).length > 0, {
      error: 'must define at least one environment',
    })
    .transform((environments) =>
      Object.fromEntries(
        Object.entries(environments).map(([name, environment]) => [
          name,
          {
            ...environment,
            backup: { ...environment.backup, dir: environment.backup.dir ?? `.plandb/backups/${name}` },
            cutover: environment.cutover ?? defaultCutover(name),
          },
        ]),
      ),
    ),
});

/** The file as written (defaults optional). */
export type PlandbConfigFileInput = z.input<typeof plandbConfigFileSchema>;
/** The file after validation and defaults, before environment-variable overrides. */
export type PlandbConfigFile = z.output<typeof plandbConfigFileSchema>;
export type EnvironmentConfig = PlandbConfigFile['environments'][string];
export type BackupConfig = EnvironmentConfig['backup'];
export type MaintenanceConfig = EnvironmentConfig['maintenance'];
export type MaintenanceMode = MaintenanceConfig['mode'];
export type ApprovalConfig = EnvironmentConfig['approval'];
export type BackfillConfig = EnvironmentConfig['backfill'];
export type ThrottleConfig = BackfillConfig['throttle'];
export type TuningConfig = BackfillConfig['tuning'];
export type CatchUpConfig = BackfillConfig['catchUp'];
export type VerifyConfig = EnvironmentConfig['verify'];
export type CapacityConfig = EnvironmentConfig['capacity'];
export type SpotCheckConfig = EnvironmentConfig['spotCheck'];

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  /** TLS, API key, gRPC headers (config/temporal-connection.ts); absent for a plaintext connection. */
  credentials?: TemporalCredentials;
}

/** What `loadConfig` returns: Temporal settings resolved, capacity overrides applied. */
export interface PlandbConfig {
  temporal: TemporalConfig;
  environments: Record<string, EnvironmentConfig>;
}
