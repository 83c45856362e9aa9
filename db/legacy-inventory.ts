/** The dry-run inventory of the legacy table: streams every artifact through the transform and counts. */
import { transformArtifact } from '../transform/legacy-transform';
import { addToInventory, emptyInventory, LegacyInventory } from '../transform/inventory';
import { Queryable } from './connection';
import { nativeSha256 } from './native-hash';
import { legacyBounds, readArtifacts } from './legacy-reader';

export async function scanLegacyInventory(
  db: Queryable,
  opts: { batchSize?: number; onProgress?: (cursor: number) => void } = {},
): Promise<LegacyInventory> {
  const bounds = await legacyBounds(db);
  const inventory = emptyInventory(bounds.plans);
  const batchSize = opts.batchSize ?? 1000;
  let cursor = 0;
  for (;;) {
    const batch = await readArtifacts(db, { afterId: cursor, limit: batchSize });
    if (!batch.length) break;
    for (const artifact of batch) addToInventory(inventory, transformArtifact(artifact, nativeSha256));
    cursor = batch[batch.length - 1].id;
    opts.onProgress?.(cursor);
  }
  return inventory;
}
