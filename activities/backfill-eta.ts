/**
 * ETA from history and maintenance windows: the rate of the previous environment's last completed backfill
 * (read through its own connection: it is usually another database), and the next window with whether the
 * work left for maintenance fits in it. Windows are computed here, not in workflow code: time-zone rules
 * come from the process's ICU data, which may differ between workers and would break replay.
 */
import { ConfigError } from '../config/errors';
import { countUnwrittenArtifacts, lastCompletedRunRate } from '../db/backfill-eta';
import { withClient } from '../db/connection';
import { predictEta, previousEnvironment, type EtaPrediction, type MeasuredRate } from '../model/backfill-eta';
import { estimateMaintenanceSeconds, formatInZone, nextWindow, windowFit, type MaintenanceWindowSpec } from '../model/maintenance-window';
import type { ActivityDeps } from './deps';

/** The promotion order: environments as plandb.config.json lists them. */
const promotionOrder = (deps: ActivityDeps) => Object.keys(deps.config.environments);

/** The previous environment's last completed run rate, or why there is none. */
async function previousRate(
  deps: ActivityDeps,
  environment: string,
): Promise<{ from: string | null; rate: MeasuredRate | null; unavailable?: string }> {
  const from = previousEnvironment(promotionOrder(deps), environment);
  if (!from) return { from, rate: null, unavailable: `${environment} is first in the promotion order` };
  try {
    const rate = await lastCompletedRunRate(deps.databases.pool(from), from);
    return rate ? { from, rate } : { from, rate: null, unavailable: `${from} has no completed backfill yet` };
  } catch (err) {
    // A ConfigError names the variable, never the URL; other errors may carry host names: say less.
    const why = err instanceof ConfigError ? err.message : `its database could not be read (${(err as { code?: string }).code ?? 'error'})`;
    deps.logger.warn({ event: 'eta_previous_rate_unavailable', environment, from, reason: why });
    return { from, rate: null, unavailable: `${from}: ${why}` };
  }
}

/** The ETA of a backfill of `artifacts` in `environment`, from the previous environment's rate; null for the first environment. */
export async function predictBackfillEta(deps: ActivityDeps, environment: string, artifacts: number): Promise<EtaPrediction | null> {
  const { from, rate, unavailable } = await previousRate(deps, environment);
  if (!from) return null;
  return rate ? predictEta(rate, artifacts) : { fromEnvironment: from, unavailable: unavailable! };
}

export interface MaintenanceWindowPlan {
  timeZone: string;
  opensAt: string;
  closesAt: string;
  /** The opening as the zone reads it, e.g. "2026-12-05T01:00:00+09:00 Asia/Tokyo". */
  opensAtLocal: string;
  closesAtLocal: string;
  /** The window was already open when planned. */
  inside: boolean;
  pendingArtifacts: number;
  artifactsPerSecond: number | null;
  /** Where the rate comes from: "<environment> run <id>"; null without one. */
  rateFrom: string | null;
  estimateSeconds: number | null;
  budgetSeconds: number;
  fits: boolean;
  plannedAt: string;
}

export function createMaintenanceWindowActivities(deps: ActivityDeps) {
  /**
   * The window open now, or the next one (after `afterMs` when a refused window is skipped), and whether the
   * backfill left to do under maintenance fits in it at this environment's last measured rate (else the
   * previous environment's). `pendingArtifacts` replaces the count of unwritten artifacts when the caller
   * knows better what maintenance covers (an online cut-over's final delta).
   */
  async function planMaintenanceWindow(input: {
    environment: string;
    window: MaintenanceWindowSpec;
    afterMs?: number;
    pendingArtifacts?: number;
  }): Promise<MaintenanceWindowPlan> {
    const nowMs = Date.now();
    const window = nextWindow(input.window, Math.max(nowMs, input.afterMs ?? 0));
    const pool = deps.databases.pool(input.environment);
    const pendingArtifacts = input.pendingArtifacts ?? (await withClient(pool, (c) => countUnwrittenArtifacts(c)));
    const rate = (await lastCompletedRunRate(pool, input.environment)) ?? (await previousRate(deps, input.environment)).rate;
    const artifactsPerSecond = rate?.artifactsPerSecond ?? null;
    const fit = windowFit(window, nowMs, input.window.maxLengthMs, estimateMaintenanceSeconds({ pendingArtifacts, artifactsPerSecond }));
    const { timeZone } = input.window;
    return {
      timeZone,
      opensAt: new Date(window.opensAtMs).toISOString(),
      closesAt: new Date(window.closesAtMs).toISOString(),
      opensAtLocal: formatInZone(window.opensAtMs, timeZone),
      closesAtLocal: formatInZone(window.closesAtMs, timeZone),
      inside: window.opensAtMs <= nowMs,
      pendingArtifacts,
      artifactsPerSecond: artifactsPerSecond === null ? null : Math.round(artifactsPerSecond * 10) / 10,
      rateFrom: rate ? `${rate.environment} run ${rate.runId}` : null,
      ...fit,
      plannedAt: new Date(nowMs).toISOString(),
    };
  }
  return { planMaintenanceWindow };
}
