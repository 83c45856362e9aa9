/**
 * Pins what the backfill derives from legacy rows: the checksum of every version, the plan_versions
 * fields and the COPY text of its child rows. The expected file was written by the code before the
 * CPU work of issue 10; a faster parser, transform, hasher or COPY writer must reproduce it byte for byte.
 */
import expected from './backfill-golden.json';
import { nativeSha256 } from '../../db/native-hash';
import { parseLegacyPayload } from '../../db/jsonb-text';
import { copyKey, eventCopyText, kpiCopyText, renderChildren, seriesCopyText } from '../../db/repository-writer';
import { transformArtifact } from '../../transform/legacy-transform';
import { digest, generatedInputs, goldenOutput, HAND_INPUTS } from './golden-artifacts';

describe('backfill golden outputs', () => {
  it.each(HAND_INPUTS.map((input, i) => [input.label, i] as const))('%s', (_label, i) => {
    expect(goldenOutput(HAND_INPUTS[i])).toEqual(expected.hand[i]);
  });

  it('a generated set of demo and malformed documents gives the pinned checksums and COPY text', () => {
    const outputs = generatedInputs().map(goldenOutput);
    expect(outputs.map((o) => ('checksum' in o ? o.checksum : `${o.reason}: ${o.message}`))).toEqual(expected.generated.results);
    expect(digest(JSON.stringify(outputs))).toBe(expected.generated.digest);
  });
});

describe('child rows rendered ahead (a batch read ahead keeps COPY bytes, not objects)', () => {
  const accepted = HAND_INPUTS.flatMap((input) => {
    const artifact = { id: 1, planId: input.planId, version: input.version, payload: parseLegacyPayload(input), createdAt: new Date(0) };
    const result = transformArtifact(artifact, nativeSha256);
    return result.ok ? [[input.label, result.version] as const] : [];
  });

  test('the hand-written set has accepted documents to render', () => {
    expect(accepted.length).toBeGreaterThan(10);
  });

  test.each(accepted)('%s: the same COPY text and counts as rendered at write time; the version keeps its own fields', (_label, full) => {
    const { version, rendered } = renderChildren(full);
    const key = copyKey(full);
    for (const [table, render] of [
      ['kpis', kpiCopyText],
      ['series', seriesCopyText],
      ['events', eventCopyText],
    ] as const) {
      const lines = render(full, key);
      expect({ table, text: rendered[table].bytes.toString('utf8'), count: rendered[table].count }).toEqual({ table, ...lines });
    }
    expect(version).toEqual({ ...full, kpis: [], series: [], events: [] });
  });
});
