import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { canonicalJson } from '../../transform/canonical-json';
import { fromRepositoryRows, versionChecksum } from '../../transform/checksum';
import { mulberry32 } from '../../transform/demo-payloads';
import { nativeSha256 } from '../../db/native-hash';
import type { NormalizedVersion } from '../../transform/types';
import { accepted, reorderKeys, shuffled, simulateRepositoryRows, specExamplePayload, validPayload } from './transform-fixtures';

const specExample = specExamplePayload;

const row = <V>(item: string, value: V, metric = 'demand') => ({ item, location: 'TOKYO', period: '2026-01', metric, value });

describe('versionChecksum', () => {
  it('is the sha256 of this exact canonical text (pinned: stored checksums must never change meaning)', () => {
    const text =
      '{"events":[{"actor":"alice","at":"2026-01-01T00:00:00.000Z","detail":{},"seq":0,"type":"created"}],' +
      '"kpis":[{"name":"fill_rate","unit":"ratio","value":0.97}],"name":"Q1 demand plan","planId":"plan-00001",' +
      '"runId":"run-123","series":[{"item":"SKU-1","location":"TOKYO","metric":"demand","period":"2026-01-05","value":120.5}],' +
      '"status":"draft","summary":{"any":"object"},"version":1}';
    const r = accepted(specExample());
    expect(canonicalJson(r.version)).toBe(text);
    expect(r.checksum).toBe(createHash('sha256').update(text).digest('hex'));
    expect(versionChecksum(r.version, nativeSha256)).toBe(r.checksum);
  });

  it('equals sha256(canonicalJson(version)) on any valid version', () => {
    fc.assert(
      fc.property(validPayload, (payload) => {
        const { version } = accepted(payload);
        expect(versionChecksum(version, nativeSha256)).toBe(nativeSha256(canonicalJson(version)));
      }),
      { numRuns: 200 },
    );
  });

  it('covers every field of the version', () => {
    const base = accepted(specExample()).version;
    const variants: NormalizedVersion[] = [
      { ...base, planId: 'plan-00002' },
      { ...base, version: 2 },
      { ...base, name: null },
      { ...base, status: 'published' },
      { ...base, runId: null },
      { ...base, summary: { any: 'other' } },
      { ...base, kpis: [{ ...base.kpis[0], unit: null }] },
      { ...base, kpis: [{ ...base.kpis[0], value: 0.98 }] },
      { ...base, series: [{ ...base.series[0], period: '2026-W02' }] },
      { ...base, series: [{ ...base.series[0], value: 120.50000000000001 }] },
      { ...base, events: [{ ...base.events[0], at: '2026-01-01T00:00:00.001Z' }] },
      { ...base, events: [{ ...base.events[0], actor: null }] },
      { ...base, events: [{ ...base.events[0], detail: { note: 'x' } }] },
      { ...base, events: [] },
    ];
    const sums = new Set([base, ...variants].map((v) => versionChecksum(v, nativeSha256)));
    expect(sums.size).toBe(variants.length + 1);
  });

  it('refuses a version holding a non-finite number rather than hashing it as null', () => {
    const base = accepted(specExample()).version;
    expect(() => versionChecksum({ ...base, series: [{ ...base.series[0], value: NaN }] }, nativeSha256)).toThrow(TypeError);
    expect(() => versionChecksum({ ...base, kpis: [{ ...base.kpis[0], value: Infinity }] }, nativeSha256)).toThrow(TypeError);
  });
});

describe('checksum stability across legacy spellings', () => {
  it('ignores the key order of payload objects', () => {
    const a = accepted(specExample()).checksum;
    for (let seed = 1; seed <= 20; seed++) expect(accepted(reorderKeys(mulberry32(seed), specExample())).checksum).toBe(a);
  });

  it('ignores number spelling: 120.5, "120.5", "1.205e2", 1.205e2, "120.50"', () => {
    const sums = [120.5, '120.5', '1.205e2', JSON.parse('1.205e2') as number, '120.50'].map(
      (value) =>
        accepted({ ...specExample(), series: [row('SKU-1', value)], kpis: { fill_rate: typeof value === 'string' ? '0.97' : 0.97 } })
          .checksum,
    );
    expect(new Set(sums).size).toBe(1);
  });

  it('ignores the order of series and KPI entries', () => {
    const series = [row('SKU-1', 1), row('SKU-2', 2), row('SKU-10', 3), row('SKU-1', 4, 'supply'), row('sku-1', 5)];
    const kpis = [
      { name: 'b', value: 1 },
      { name: 'a', value: 2 },
      { name: 'C', value: 3 },
    ];
    const expected = accepted({ ...specExample(), series, kpis }).checksum;
    for (let seed = 1; seed <= 20; seed++) {
      const rng = mulberry32(seed);
      expect(accepted({ ...specExample(), series: shuffled(rng, series), kpis: shuffled(rng, kpis) }).checksum).toBe(expected);
    }
  });

  it('gives a KPI map the checksum of the equivalent array with unit null', () => {
    const map = accepted({ ...specExample(), kpis: { fill_rate: '0.97', bias: -3 } }).checksum;
    const array = accepted({
      ...specExample(),
      kpis: [
        { name: 'bias', value: -3, unit: null },
        { name: 'fill_rate', value: 0.97 },
      ],
    }).checksum;
    expect(map).toBe(array);
  });

  it('ignores how an event instant is written, but not the order of events', () => {
    const at = (...instants: string[]) =>
      accepted({ ...specExample(), events: instants.map((a, i) => ({ at: a, type: `t${i}` })) }).checksum;
    expect(at('2026-01-01T09:00:00+09:00', '2026-01-02T00:00:00Z')).toBe(at('2026-01-01T00:00:00.000Z', '2026-01-01 19:00-05:00'));
    const ordered = accepted({
      ...specExample(),
      events: [
        { at: '2026-01-01T00:00:00Z', type: 'a' },
        { at: '2026-01-01T00:00:00Z', type: 'b' },
      ],
    });
    const swapped = accepted({
      ...specExample(),
      events: [
        { at: '2026-01-01T00:00:00Z', type: 'b' },
        { at: '2026-01-01T00:00:00Z', type: 'a' },
      ],
    });
    expect(swapped.checksum).not.toBe(ordered.checksum);
  });

  it('survives the payload going through JSON text (as jsonb does)', () => {
    fc.assert(
      fc.property(validPayload, (payload) => {
        expect(accepted(JSON.parse(JSON.stringify(payload))).checksum).toBe(accepted(payload).checksum);
      }),
      { numRuns: 200 },
    );
  });
});

describe('fromRepositoryRows', () => {
  it('rebuilds the spec example from rows and matches its checksum', () => {
    const r = accepted(specExample());
    const back = fromRepositoryRows({
      version: { planId: 'plan-00001', version: 1, name: 'Q1 demand plan', status: 'draft', runId: 'run-123', summary: { any: 'object' } },
      kpis: [{ name: 'fill_rate', value: 0.97, unit: 'ratio' }],
      series: [{ item: 'SKU-1', location: 'TOKYO', period: '2026-01-05', metric: 'demand', value: 120.5 }],
      events: [{ seq: 0, at: new Date('2026-01-01T00:00:00Z'), type: 'created', actor: 'alice', detail: {} }],
    });
    expect(back).toEqual(r.version);
    expect(versionChecksum(back, nativeSha256)).toBe(r.checksum);
  });

  it('sorts rows in any order, takes ISO strings for at, and reads float8 -0 as 0', () => {
    const back = fromRepositoryRows({
      version: { planId: 'p', version: 2, name: null, status: null, runId: null, summary: {} },
      kpis: [
        { name: 'b', value: -0, unit: null },
        { name: 'B', value: 1, unit: 'u' },
      ],
      series: [row('b', 1), row('B', -0), row('a', 2, 'z'), row('a', 3, 'Z')],
      events: [
        { seq: 1, at: '2026-01-01T00:00:00+00:00', type: 'second', actor: null, detail: {} },
        { seq: 0, at: new Date('2025-12-31T23:59:59.999Z'), type: 'first', actor: 'a', detail: { k: [1] } },
      ],
    });
    expect(back.kpis.map((k) => [k.name, k.value])).toEqual([
      ['B', 1],
      ['b', 0],
    ]);
    expect(Object.is(back.kpis[1].value, 0)).toBe(true);
    expect(back.series.map((s) => `${s.item}/${s.metric}`)).toEqual(['B/demand', 'a/Z', 'a/z', 'b/demand']);
    expect(Object.is(back.series[0].value, 0)).toBe(true);
    expect(back.events).toEqual([
      { seq: 0, at: '2025-12-31T23:59:59.999Z', type: 'first', actor: 'a', detail: { k: [1] } },
      { seq: 1, at: '2026-01-01T00:00:00.000Z', type: 'second', actor: null, detail: {} },
    ]);
  });

  it('round-trips any valid payload: normalized -> repository rows (shuffled) -> same checksum', () => {
    fc.assert(
      fc.property(validPayload, fc.integer(), (payload, seed) => {
        const r = accepted(payload, { planId: 'plan-00042', version: 7 });
        const back = fromRepositoryRows(simulateRepositoryRows(mulberry32(seed), r.version));
        expect(versionChecksum(back, nativeSha256)).toBe(r.checksum);
      }),
      { numRuns: 300 },
    );
  });

  it('notices a lost or altered row', () => {
    const r = accepted({ ...specExample(), series: [row('A', 1), row('B', 2)] });
    const rows = simulateRepositoryRows(mulberry32(1), r.version);
    expect(versionChecksum(fromRepositoryRows({ ...rows, series: rows.series.slice(1) }), nativeSha256)).not.toBe(r.checksum);
    expect(versionChecksum(fromRepositoryRows({ ...rows, series: rows.series.map((s) => ({ ...s, value: s.value + 1e-9 })) }), nativeSha256)).not.toBe(
      r.checksum,
    );
    expect(versionChecksum(fromRepositoryRows({ ...rows, events: rows.events.map((e) => ({ ...e, seq: e.seq + 1 })) }), nativeSha256)).not.toBe(
      r.checksum,
    );
  });
});
