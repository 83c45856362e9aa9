/** Dry-run counts over transform results: what a backfill would write and what it would reject. Pure. */
import type { RejectReason, TransformResult } from './types';

export interface LegacyInventory {
  artifacts: number;
  plans: number;
  validVersions: number;
  rejected: number;
  rejectsByReason: Partial<Record<RejectReason, number>>;
  series: number;
  kpis: number;
  events: number;
}

export function emptyInventory(plans = 0): LegacyInventory {
  return { artifacts: 0, plans, validVersions: 0, rejected: 0, rejectsByReason: {}, series: 0, kpis: 0, events: 0 };
}

export function addToInventory(inv: LegacyInventory, result: TransformResult): void {
  inv.artifacts++;
  if (result.ok) {
    inv.validVersions++;
    inv.series += result.version.series.length;
    inv.kpis += result.version.kpis.length;
    inv.events += result.version.events.length;
  } else {
    inv.rejected++;
    inv.rejectsByReason[result.reason] = (inv.rejectsByReason[result.reason] ?? 0) + 1;
  }
}
