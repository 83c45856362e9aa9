/**
 * Pins what the backfill derives from legacy rows: the checksum of every version, the plan_versions
 * fields and the COPY text of its child rows. The expected file was written by the code before the
 * CPU work of issue 10; a faster parser, transform, hasher or COPY writer must reproduce it byte for byte.
 */
import expected from './backfill-golden.json';
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
