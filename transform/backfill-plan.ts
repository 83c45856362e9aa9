/**
 * What one backfill batch does with each artifact, decided from the transform results and the
 * checksums already in the repository. Pure, so the rules of §4 are testable on their own.
 */
import type { BackfillMode } from '../model/backfill';
import type { LegacyArtifact, NormalizedVersion, RejectReason, TransformResult } from './types';

export interface PlannedWrite {
  artifact: LegacyArtifact;
  version: NormalizedVersion;
  checksum: string;
  /** Force mode over a version already present: its old rows go first. */
  replaces: boolean;
}

export interface PlannedError {
  artifact: LegacyArtifact;
  // 'db_rejected': accepted by the transform, refused by PostgreSQL (db/backfill-batch.ts).
  reason: RejectReason | 'conflict' | 'db_rejected';
  message: string;
  detail: Record<string, unknown>;
}

export interface BatchPlan {
  writes: PlannedWrite[];
  skipped: number;
  rejected: PlannedError[];
  conflicts: PlannedError[];
}

/**
 * `existing` maps `versionKey(planId, version)` to the checksum stored in the repository; `sources` (delta
 * mode) to the stored version's source artifact id: a version whose own artifact now reads differently was
 * changed in place and is rewritten, while another artifact claiming the key stays a conflict.
 */
export function planBatch(
  artifacts: LegacyArtifact[],
  results: TransformResult[],
  existing: Map<string, string>,
  mode: BackfillMode,
  versionKey: (planId: string, version: number) => string,
  sources: Map<string, number> = new Map(),
): BatchPlan {
  const plan: BatchPlan = { writes: [], skipped: 0, rejected: [], conflicts: [] };
  // A version twice in one batch: the second is judged against the first, as if the first were stored
  // (force too: which of two legacy copies is right is for a person to say). So a batch never writes a
  // key twice, and a duplicate-key error from PostgreSQL can only mean a concurrent shard won the race.
  const inBatch = new Map<string, string>();
  artifacts.forEach((artifact, i) => {
    const result = results[i];
    if (!result.ok) {
      plan.rejected.push({ artifact, reason: result.reason, message: result.message, detail: result.detail });
      return;
    }
    const key = versionKey(artifact.planId, artifact.version);
    const earlier = inBatch.get(key);
    const stored = earlier ?? existing.get(key);
    if (earlier === undefined) inBatch.set(key, result.checksum);
    const changedInPlace = mode === 'delta' && earlier === undefined && sources.get(key) === artifact.id;
    if (stored === undefined || (mode === 'force' && earlier === undefined) || (changedInPlace && stored !== result.checksum)) {
      plan.writes.push({ artifact, version: result.version, checksum: result.checksum, replaces: stored !== undefined });
    } else if (stored === result.checksum) {
      plan.skipped++;
    } else {
      plan.conflicts.push({
        artifact,
        reason: 'conflict',
        message: `${artifact.planId} v${artifact.version} is already in the repository with different content (stored checksum ${stored.slice(0, 12)}, legacy ${result.checksum.slice(0, 12)}); rerun with force to overwrite`,
        detail: { storedChecksum: stored, legacyChecksum: result.checksum },
      });
    }
  });
  return plan;
}
