/** Shared helpers for the transform tests: artifacts, random valid payloads, simulated repository rows. */
import fc from 'fast-check';
import { parseJsonbText } from '../../db/jsonb-text';
import { jsonText } from '../../transform/canonical-json';
import type { RepositoryRows } from '../../transform/checksum';
import type { Rng } from '../../transform/demo-payloads';
import { transformArtifact } from '../../transform/legacy-transform';
import type { JsonObject, JsonValue, LegacyArtifact, NormalizedVersion, TransformResult } from '../../transform/types';
import { nativeSha256 } from '../../db/native-hash';

export function artifact(payload: unknown, over: Partial<LegacyArtifact> = {}): LegacyArtifact {
  return { id: 1, planId: 'plan-00001', version: 1, payload, createdAt: new Date('2026-01-01T00:00:00Z'), ...over };
}

export function accepted(payload: unknown, over: Partial<LegacyArtifact> = {}): Extract<TransformResult, { ok: true }> {
  const r = transformArtifact(artifact(payload, over), nativeSha256);
  if (!r.ok) throw new Error(`expected acceptance, got ${r.reason}: ${r.message}`);
  return r;
}

export function rejected(payload: unknown): Extract<TransformResult, { ok: false }> {
  const r = transformArtifact(artifact(payload), nativeSha256);
  if (r.ok) throw new Error('expected a reject, the payload was accepted');
  return r;
}

export function shuffled<T>(rng: Rng, xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Same JSON value with every object's keys in a random order. */
export function reorderKeys(rng: Rng, v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => reorderKeys(rng, x));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of shuffled(rng, Object.keys(v))) {
      Object.defineProperty(out, k, {
        value: reorderKeys(rng, (v as Record<string, unknown>)[k]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return v;
}

/** Written as the writer does, read back as the reader does (lossless). */
const viaJsonb = <T>(x: T): T => parseJsonbText(jsonText(x)) as T;
/** PostgreSQL's JSON for `at AT TIME ZONE 'UTC'`: no offset, trailing fraction zeros dropped. */
const viaTimestamp = (at: string): string => at.slice(0, -1).replace(/\.?0+$/, '');
/** float8 text output is the shortest round-trip form (PostgreSQL >= 12), which `pg` parses back. */
const viaFloat8 = (n: number): number => Number(String(n));

/** What the repository hands back for `v`: rows in random order, `at` as PostgreSQL's JSON text, jsonb re-parsed. */
export function simulateRepositoryRows(rng: Rng, v: NormalizedVersion): RepositoryRows {
  return {
    version: { planId: v.planId, version: v.version, name: v.name, status: v.status, runId: v.runId, summary: viaJsonb(v.summary) },
    kpis: shuffled(rng, v.kpis).map((k) => ({ name: k.name, value: viaFloat8(k.value), unit: k.unit })),
    series: shuffled(rng, v.series).map((s) => ({ ...s, value: viaFloat8(s.value) })),
    events: shuffled(rng, v.events).map((e) => ({
      seq: e.seq,
      at: viaTimestamp(e.at),
      type: e.type,
      actor: e.actor,
      detail: viaJsonb(e.detail),
    })),
  };
}

// ---- fast-check arbitraries of valid legacy payloads, independent of demo-payloads ----

/** A finite number, spelled as a JSON number or as a JSON-number string (plain or exponent form). */
export const legacyNumber: fc.Arbitrary<JsonValue> = fc
  .tuple(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom('number', 'string', 'exponent'))
  .map(([n, form]) => (form === 'number' ? n : form === 'string' ? JSON.stringify(n) : n.toExponential()));

// Small alphabets so keys collide across fields and code-unit order matters ('B' < 'a', 'SKU-10' < 'SKU-2').
const keyText = fc.constantFrom('', 'A', 'B', 'a', 'b', 'SKU-1', 'SKU-10', 'SKU-2', 'é', '東京', '\u{1F69A}');

const seriesArb = fc.uniqueArray(
  fc.record({
    item: keyText,
    location: keyText,
    period: fc.constantFrom('2026-01-05', '2026-W02', '2026-01', '2026-12'),
    metric: fc.constantFrom('demand', 'supply', 'Demand'),
    value: legacyNumber,
  }),
  { selector: (s) => JSON.stringify([s.item, s.location, s.period, s.metric]), maxLength: 25 },
);

const kpisArb: fc.Arbitrary<JsonValue | undefined> = fc.oneof(
  fc.uniqueArray(
    fc.record(
      {
        // Any code point but U+0000, which PostgreSQL text cannot hold (a text_has_nul reject).
        name: fc.string({ minLength: 1, maxLength: 12, unit: 'binary' }).filter((n) => !n.includes('\u0000')),
        value: legacyNumber,
        unit: fc.option(fc.string({ maxLength: 6 })),
      },
      { requiredKeys: ['name', 'value'] },
    ),
    { selector: (k) => k.name, maxLength: 8 },
  ),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), legacyNumber, { maxKeys: 8 }),
  fc.constantFrom(undefined, null),
);

/** ISO date-time text for an instant (sometimes with microseconds): UTC 'Z', or the same instant written with an offset. */
const isoAt = fc
  .tuple(
    fc.date({ min: new Date('1000-01-02T00:00:00Z'), max: new Date('9998-12-30T00:00:00Z'), noInvalidDate: true }),
    fc.integer({ min: -14 * 4, max: 14 * 4 }),
    fc.boolean(),
    fc.option(fc.integer({ min: 0, max: 999 })),
  )
  .map(([d, quarterHours, withOffset, micros]) => {
    const sub = micros === null ? '' : String(micros).padStart(3, '0');
    if (!withOffset) return `${d.toISOString().slice(0, 23)}${sub}Z`;
    const minutes = quarterHours * 15;
    const local = new Date(d.getTime() + minutes * 60_000).toISOString().slice(0, 23) + sub;
    const abs = Math.abs(minutes);
    const hhmm = `${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    return `${local}${minutes < 0 ? '-' : '+'}${hhmm}`;
  });

const jsonObject = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }) as fc.Arbitrary<JsonObject>;

const eventsArb: fc.Arbitrary<JsonValue | undefined> = fc.oneof(
  fc.array(
    fc.record(
      { at: isoAt, type: fc.string({ maxLength: 10 }), actor: fc.option(fc.string({ maxLength: 6 })), detail: jsonObject },
      { requiredKeys: ['at', 'type'] },
    ),
    { maxLength: 6 },
  ),
  fc.constantFrom(undefined, null),
);

const looseText = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom(undefined, null, 7, true));

/** Valid legacy payloads in any accepted variant (current and older formats mixed freely). */
export const validPayload: fc.Arbitrary<JsonObject> = fc
  .record({
    name: looseText,
    status: looseText,
    run_id: looseText,
    summary: fc.oneof(jsonObject, fc.constantFrom(undefined, null)),
    kpis: kpisArb,
    series: seriesArb,
    events: eventsArb,
  })
  .map((p) => Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as JsonObject);

/** The current-format example of SPEC §3. */
export function specExamplePayload(): JsonObject {
  return {
    name: 'Q1 demand plan',
    status: 'draft',
    run_id: 'run-123',
    summary: { any: 'object' },
    kpis: [{ name: 'fill_rate', value: 0.97, unit: 'ratio' }],
    series: [{ item: 'SKU-1', location: 'TOKYO', period: '2026-01-05', metric: 'demand', value: 120.5 }],
    events: [{ at: '2026-01-01T00:00:00Z', type: 'created', actor: 'alice', detail: {} }],
  };
}
