/**
 * The `verify` activity (SPEC §6): every version (or the configured sample) checksummed legacy vs
 * read back, table counts, representative plans in full detail, and optional checks of the
 * application's /plans API. A failed verification is a result (`passed: false`) for the workflow to
 * act on; only infrastructure problems throw.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import pg from 'pg';
import { getEnvironment, resolveDatabaseUrl } from '../config/environment';
import { createPool } from '../db/connection';
import { MAX_VERIFY_PARALLEL } from '../model/verify';
import { legacyTableExists } from '../db/legacy-reader';
import { changedArtifactIds } from '../db/cutover-delta';
import { unresolvedErrorArtifactIds } from '../db/error-replay';
import { compareRepresentativePlans, type RepresentativePlanReport } from '../db/representative-plans';
import { tableExists } from '../db/server-info';
import { saveVerifyReport } from '../db/verify-reports';
import { sampleThreshold, verifyRepository, type VerificationProgress, type VerifyScope } from '../db/verification';
import { verificationProblems, type VerificationReport, type VerifySample } from '../transform/verification-report';
import { refuseDuringBulkLoad } from './bulk-load';
import type { ActivityDeps } from './deps';
import { activityContext, heartbeat, withHeartbeat } from './heartbeat';
import { checkPlansApi, type HttpCheck } from './plans-api';

const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;

export interface VerifyInput {
  environment: string;
  /** Default: the environment's `verify.sample`. */
  sample?: VerifySample;
  /** Sessions walking parts of the id range at once. Default: the environment's `verify.parallel`. */
  parallel?: number;
  /** Default: the environment's `verify.representativePlans` (at least 3). */
  representativePlans?: number;
  /** Default: the environment's `verify.httpBaseUrl`; no HTTP checks when neither is set. */
  httpBaseUrl?: string;
  /** Verify this database on the environment's server instead (the rollback drill's restored copy). */
  database?: string;
  /** The migration asking: the report is stored in plan_verify_reports and its evidence keeps the id. */
  workflowId?: string;
  /** Only artifacts up to this id (the online cut-over's backfilled range, while the application appends). */
  upToId?: number;
  /**
   * Versions changed in place since they were written (repository rows = stored checksum ≠ legacy) do not fail
   * it: the online cut-over's final delta rewrites them, and its own verify is strict. Counted in `changedSinceWritten`.
   */
  changedLater?: boolean;
  /** Only these artifacts: those after `afterId` and the listed ids. */
  only?: VerifyScope;
  /** Only the online cut-over's delta: artifacts after `afterId` (backfill run `afterRunId`'s range end) and those the delta rewrote. */
  delta?: { afterRunId: string; afterId: number };
}

export interface VerifyResult extends VerificationReport {
  environment: string;
  /** The database verified when it is not the environment's own. */
  database: string | null;
  passed: boolean;
  /** Why it did not pass, one line each. */
  problems: string[];
  representative: RepresentativePlanReport[];
  http: HttpCheck[];
  /** The whole activity, representative plans and HTTP checks included. */
  seconds: number;
  /** Where the full report is stored (plan_verify_reports), when a migration asked. */
  reportId: number | null;
}

function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`verify: ${message}`, 'InvalidInput');
}

function checkInput(input: VerifyInput): void {
  if (input.sample !== undefined) {
    try {
      sampleThreshold(input.sample);
    } catch (err) {
      throw invalidInput((err as Error).message);
    }
  }
  const p = input.parallel;
  if (p !== undefined && !(Number.isInteger(p) && p >= 1 && p <= MAX_VERIFY_PARALLEL))
    throw invalidInput(`parallel must be a whole number from 1 to ${MAX_VERIFY_PARALLEL}, got ${p}`);
  const n = input.representativePlans;
  if (n !== undefined && !(Number.isInteger(n) && n >= 3)) throw invalidInput(`representativePlans must be an integer >= 3, got ${n}`);
  if (input.httpBaseUrl !== undefined && !/^https?:\/\//.test(input.httpBaseUrl))
    throw invalidInput('httpBaseUrl must be an http:// or https:// URL');
  if (input.database !== undefined && !DATABASE_NAME.test(input.database))
    throw invalidInput(`"${input.database}" is not a database name plandb verifies`);
  const o = input.only;
  if (
    o !== undefined &&
    !(Number.isSafeInteger(o.afterId) && o.afterId >= 0 && Array.isArray(o.artifactIds) && o.artifactIds.every(Number.isSafeInteger))
  )
    throw invalidInput('only must be {"afterId": <id >= 0>, "artifactIds": [<id>, ...]}');
  const d = input.delta;
  if (
    d !== undefined &&
    !(typeof d.afterRunId === 'string' && d.afterRunId.length > 0 && Number.isSafeInteger(d.afterId) && d.afterId >= 0)
  )
    throw invalidInput('delta must be {"afterRunId": "<backfill run id>", "afterId": <id >= 0>}');
  if (o !== undefined && d !== undefined) throw invalidInput('only and delta cannot both be given');
  if (input.changedLater !== undefined && typeof input.changedLater !== 'boolean') throw invalidInput('changedLater must be true or false');
  if (input.upToId !== undefined && !(Number.isSafeInteger(input.upToId) && input.upToId >= 0))
    throw invalidInput(`upToId must be an artifact id >= 0, got ${input.upToId}`);
}

/** The environment's URL with another database name; the URL itself never leaves this function. */
export function urlForDatabase(environmentUrl: string, database: string): string {
  const url = new URL(environmentUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

function problemsOf(
  report: VerificationReport,
  representative: RepresentativePlanReport[],
  http: HttpCheck[],
  changedLater: boolean,
): string[] {
  const problems = verificationProblems(report, { changedLater });
  // While the application is live its plans move on past the backfilled range: the representative plans are
  // compared strictly in the delta's verify, under maintenance.
  for (const r of changedLater ? [] : representative.filter((p) => !p.equal)) {
    problems.push(
      `representative plan ${r.planId} v${r.version ?? '?'} differs: ${r.differences
        .map((d) => d.field)
        .slice(0, 5)
        .join(', ')}`,
    );
  }
  for (const h of http.filter((c) => !c.ok)) problems.push(`HTTP check ${h.url}: ${h.error}`);
  return problems;
}

/** `env` holds the database URL variables (as the DatabaseRegistry's does), for `database`. */
export function createVerifyActivities(deps: ActivityDeps, env: NodeJS.ProcessEnv = process.env) {
  async function verifyOn(pool: pg.Pool, input: VerifyInput, where: string, parallel: number): Promise<VerifyResult> {
    const started = Date.now();
    const settings = getEnvironment(deps.config, input.environment).verify;
    if (!(await legacyTableExists(pool))) throw ApplicationFailure.nonRetryable(`${where} has no plan_artifacts table`, 'NoLegacyTable');
    if (!(await tableExists(pool, 'plan_versions'))) {
      throw ApplicationFailure.nonRetryable(`${where} has no PlanRepository tables: apply the migrations first`, 'RepositoryMissing');
    }
    const only = input.delta ? { afterId: input.delta.afterId, artifactIds: await changedArtifactIds(pool, input.delta) } : input.only;
    const ctx = activityContext();
    let last: VerificationProgress | null = null;
    // Liveness while one long statement (the final counts) runs; the details carry the last batch.
    return withHeartbeat(
      () => ({ phase: 'verify', ...last }),
      async () => {
        // While the application is live it may fix a rejected row in place: the delta writes it.
        const rejectedEarlier = input.changedLater ? await unresolvedErrorArtifactIds(pool) : undefined;
        const report = await verifyRepository(pool, {
          sample: input.sample ?? settings.sample,
          parallel,
          ...(only && { only }),
          ...(input.upToId !== undefined && { upToId: input.upToId }),
          ...(rejectedEarlier && { rejectedEarlier }),
          onProgress: (p) => {
            last = p;
            heartbeat({ phase: 'verify', ...p });
            if (ctx?.cancellationSignal.aborted) throw new CancelledFailure('verify cancelled');
          },
        });
        heartbeat({ phase: 'representative-plans' });
        const representative = await compareRepresentativePlans(pool, input.representativePlans ?? settings.representativePlans);
        const baseUrl = input.httpBaseUrl ?? settings.httpBaseUrl;
        const planIds = representative.map((r) => r.planId);
        const http = baseUrl ? await checkPlansApi(baseUrl, planIds) : [];
        const problems = problemsOf(report, representative, http, input.changedLater === true);
        return {
          ...report,
          environment: input.environment,
          database: input.database ?? null,
          passed: problems.length === 0,
          problems,
          representative,
          http,
          seconds: (Date.now() - started) / 1000,
          reportId: null,
        };
      },
    );
  }

  async function verify(input: VerifyInput): Promise<VerifyResult> {
    checkInput(input);
    const where = input.database ? `database ${input.database} of ${input.environment}` : input.environment;
    // A half-built schema would pass or fail for the wrong reason: verify what the migrations define.
    if (!input.database) await refuseDuringBulkLoad(deps, input.environment, 'verify');
    const environment = getEnvironment(deps.config, input.environment);
    const parallel = input.parallel ?? environment.verify.parallel;
    const url = resolveDatabaseUrl(environment, input.environment, env);
    // A pool of its own, exactly one connection per session: the shared one may be busy with other activities,
    // and sessions of one snapshot must all get a connection.
    const pool = createPool(input.database ? urlForDatabase(url, input.database) : url, {
      max: parallel,
      applicationName: `plandb-${input.environment}-verify`,
    });
    let result: VerifyResult;
    try {
      result = await verifyOn(pool, input, where, parallel);
    } catch (err) {
      const missing = input.database !== undefined && (err as { code?: string }).code === '3D000';
      throw missing ? ApplicationFailure.nonRetryable(`${where} does not exist`, 'UnknownDatabase') : err;
    } finally {
      await pool.end();
    }
    if (!input.database && input.workflowId) {
      const report = { environment: input.environment, workflowId: input.workflowId, passed: result.passed, report: result };
      result.reportId = await saveVerifyReport(deps.databases.pool(input.environment), report);
    }
    deps.logger.info({
      event: 'verify',
      environment: input.environment,
      database: result.database,
      passed: result.passed,
      versionsChecked: result.versionsChecked,
      mismatches: result.mismatches,
      missingInRepository: result.missingInRepository,
      extraInRepository: result.extraInRepository,
      problems: result.problems.slice(0, 10),
      seconds: result.seconds,
    });
    return result;
  }

  return { verify };
}
