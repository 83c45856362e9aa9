/**
 * The `setMaintenance` activity (SPEC §6): puts the Plan creation API in or out of maintenance through
 * the environment's switch: the `plan_db_maintenance` flag the application reads ('db-flag'), the
 * application's own endpoint ('http'), or nothing ('none'). Idempotent; records actor and reason.
 */
import { ApplicationFailure } from '@temporalio/common';
import { getEnvironment, redactUrl } from '../config/environment';
import type { MaintenanceMode } from '../config/schema';
import { drainLegacyWrites, getMaintenance, MaintenanceTableMissing, setMaintenanceFlag, type DrainResult } from '../db/maintenance';
import type { ActivityDeps } from './deps';
import { fetchWithTimeout } from './http';

export interface SetMaintenanceInput {
  environment: string;
  enabled: boolean;
  reason: string;
  actor: string;
  /** The workflow that holds maintenance on (recorded with the db-flag, so a flag left behind can be seen and lifted). */
  owner?: string;
}

export interface SetMaintenanceResult {
  environment: string;
  mode: MaintenanceMode;
  /** The state now. Always false with mode 'none': there is no switch to turn on. */
  enabled: boolean;
  /** null when the http endpoint cannot tell the state before the change. */
  changed: boolean | null;
  reason: string | null;
  actor: string | null;
  /** When the current state began, where the switch records it. */
  since: string | null;
  /** Turning maintenance on: the wait for writes already open on plan_artifacts (db/maintenance.ts drainLegacyWrites). */
  drain?: DrainResult;
}

/** What the switch says now (`plandb maintenance status`). */
export interface MaintenanceStatus {
  environment: string;
  mode: MaintenanceMode;
  /** null: the http endpoint does not tell (no GET state), or mode 'none' (no switch). */
  enabled: boolean | null;
  reason: string | null;
  actor: string | null;
  since: string | null;
  /** The workflow holding it on; only the db-flag records one. */
  ownerWorkflowId: string | null;
}

interface RemoteState {
  enabled: boolean;
  reason: string | null;
  actor: string | null;
  since: string | null;
}

const stringOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The endpoint's state from a GET, or null when it does not offer one (any non-2xx, non-JSON, no boolean `enabled`). */
async function readRemoteState(url: string, headers: Record<string, string>): Promise<RemoteState | null> {
  const res = await fetchWithTimeout(url, { headers });
  const text = await res.text();
  if (!res.ok) return null;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null || typeof (body as { enabled?: unknown }).enabled !== 'boolean') return null;
  const b = body as Record<string, unknown>;
  return { enabled: b.enabled as boolean, reason: stringOrNull(b.reason), actor: stringOrNull(b.actor), since: stringOrNull(b.since) };
}

/** The request headers, with the bearer token `tokenEnv` names when it is set. */
function authHeaders(env: NodeJS.ProcessEnv, environment: string, tokenEnv: string | undefined): Record<string, string> {
  const token = tokenEnv ? env[tokenEnv]?.trim() : undefined;
  if (tokenEnv && !token) {
    throw ApplicationFailure.nonRetryable(
      `environments.${environment}.maintenance.tokenEnv: environment variable ${tokenEnv} is not set`,
      'ConfigError',
    );
  }
  return { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
}

/** `env` holds the token variable that `maintenance.tokenEnv` names. */
export function createMaintenanceActivities(deps: ActivityDeps, env: NodeJS.ProcessEnv = process.env) {
  async function viaHttp(
    input: SetMaintenanceInput,
    url: string,
    tokenEnv: string | undefined,
  ): Promise<Omit<SetMaintenanceResult, 'environment' | 'mode'>> {
    const headers = authHeaders(env, input.environment, tokenEnv);
    const before = await readRemoteState(url, headers);
    const res = await fetchWithTimeout(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: input.enabled, reason: input.reason, actor: input.actor }),
    });
    await res.text();
    if (!res.ok) {
      throw ApplicationFailure.retryable(
        `maintenance switch ${redactUrl(url)} answered HTTP ${res.status} to POST`,
        'MaintenanceHttpError',
      );
    }
    const after = await readRemoteState(url, headers);
    if (after && after.enabled !== input.enabled) {
      throw ApplicationFailure.retryable(
        `maintenance switch ${redactUrl(url)} still reports enabled=${after.enabled} after POST enabled=${input.enabled}`,
        'MaintenanceNotApplied',
      );
    }
    return {
      enabled: input.enabled,
      changed: before ? before.enabled !== input.enabled : null,
      reason: after?.reason ?? input.reason,
      actor: after?.actor ?? input.actor,
      since: after?.since ?? null,
    };
  }

  async function setMaintenance(input: SetMaintenanceInput): Promise<SetMaintenanceResult> {
    const settings = getEnvironment(deps.config, input.environment).maintenance;
    let outcome: Omit<SetMaintenanceResult, 'environment' | 'mode'>;
    if (settings.mode === 'db-flag') {
      const { state, changed } = await setMaintenanceFlag(deps.databases.pool(input.environment), {
        enabled: input.enabled,
        reason: input.reason,
        actor: input.actor,
        ownerWorkflowId: input.owner ?? null,
      }).catch((err: unknown) => {
        throw err instanceof MaintenanceTableMissing ? ApplicationFailure.nonRetryable(err.message, 'ConfigError') : err;
      });
      outcome = { enabled: state.enabled, changed, reason: state.reason, actor: state.actor, since: state.since };
    } else if (settings.mode === 'http') {
      // The config schema requires a url with mode 'http'.
      outcome = await viaHttp(input, settings.url!, settings.tokenEnv);
    } else {
      outcome = { enabled: false, changed: false, reason: input.reason, actor: input.actor, since: null };
    }
    const result: SetMaintenanceResult = { environment: input.environment, mode: settings.mode, ...outcome };
    // On: let the writes the application began before the flip finish before anything reads the table.
    if (input.enabled && result.enabled) result.drain = await drainLegacyWrites(deps.databases.pool(input.environment));
    deps.logger.info({ event: 'maintenance_set', requested: input.enabled, ...result });
    return result;
  }

  return { setMaintenance };
}

/** Reads the switch without changing it (the CLI's `maintenance status`; not a workflow activity). */
export function createMaintenanceStatus(deps: ActivityDeps, env: NodeJS.ProcessEnv = process.env) {
  return async function maintenanceStatus(environment: string): Promise<MaintenanceStatus> {
    const settings = getEnvironment(deps.config, environment).maintenance;
    if (settings.mode === 'db-flag') {
      const { enabled, reason, actor, since, ownerWorkflowId } = await getMaintenance(deps.databases.pool(environment));
      return { environment, mode: settings.mode, enabled, reason, actor, since, ownerWorkflowId };
    }
    const remote = settings.mode === 'http' ? await readRemoteState(settings.url!, authHeaders(env, environment, settings.tokenEnv)) : null;
    return {
      environment,
      mode: settings.mode,
      enabled: remote?.enabled ?? null,
      reason: remote?.reason ?? null,
      actor: remote?.actor ?? null,
      since: remote?.since ?? null,
      ownerWorkflowId: null,
    };
  };
}
