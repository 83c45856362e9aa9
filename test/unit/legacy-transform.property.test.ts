import fc from 'fast-check';
import { injectDefect, mulberry32 } from '../../transform/demo-payloads';
import { compareKpis, compareSeries } from '../../transform/ordering';
import { REJECT_REASONS, type JsonObject, type JsonValue } from '../../transform/types';
import { accepted, rejected, reorderKeys, shuffled, validPayload } from './transform-fixtures';

/** The same document with arrays of keyed rows shuffled, object keys reordered and numbers respelled. */
function respell(seed: number, payload: JsonObject): unknown {
  const rng = mulberry32(seed);
  const spell = (v: JsonValue | undefined): JsonValue | undefined => {
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number') return v;
    return [n, JSON.stringify(n), n.toExponential()][Math.floor(rng() * 3)];
  };
  const doc = JSON.parse(JSON.stringify(payload)) as JsonObject;
  if (Array.isArray(doc.series)) doc.series = shuffled(rng, doc.series as JsonObject[]).map((s) => ({ ...s, value: spell(s.value)! }));
  if (Array.isArray(doc.kpis)) doc.kpis = shuffled(rng, doc.kpis as JsonObject[]).map((k) => ({ ...k, value: spell(k.value)! }));
  else if (doc.kpis && typeof doc.kpis === 'object') {
    doc.kpis = Object.fromEntries(Object.entries(doc.kpis).map(([name, v]) => [name, spell(v)!]));
  }
  return reorderKeys(rng, doc);
}

describe('transformArtifact properties', () => {
  it('accepts every valid payload, with sorted children and seq = document position', () => {
    fc.assert(
      fc.property(validPayload, (payload) => {
        const { version } = accepted(payload);
        const count = (v: unknown) => (Array.isArray(v) ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0);
        expect(version.series).toHaveLength(count(payload.series));
        expect(version.kpis).toHaveLength(count(payload.kpis));
        expect(version.events.map((e) => e.seq)).toEqual(version.events.map((_, i) => i));
        for (let i = 1; i < version.series.length; i++) expect(compareSeries(version.series[i - 1], version.series[i])).toBeLessThan(0);
        for (let i = 1; i < version.kpis.length; i++) expect(compareKpis(version.kpis[i - 1], version.kpis[i])).toBeLessThan(0);
        for (const s of version.series) expect(Number.isFinite(s.value) && !Object.is(s.value, -0)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same checksum whatever the row order, key order and number spelling', () => {
    fc.assert(
      fc.property(validPayload, fc.integer(), (payload, seed) => {
        expect(accepted(respell(seed, payload)).checksum).toBe(accepted(payload).checksum);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a valid payload given exactly one defect with that defect\'s code', () => {
    fc.assert(
      fc.property(validPayload, fc.constantFrom(...REJECT_REASONS), fc.integer(), (payload, reason, seed) => {
        const r = rejected(injectDefect(mulberry32(seed), payload, reason));
        expect(r.reason).toBe(reason);
        expect(r.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 1000 },
    );
  });
});
