import { transformArtifact } from '../../transform/legacy-transform';
import { REJECT_REASONS, type JsonObject, type RejectReason } from '../../transform/types';
import { accepted, artifact, rejected, specExamplePayload } from './transform-fixtures';
import { nativeSha256 } from '../../db/native-hash';

const currentPayload = specExamplePayload;

describe('transformArtifact: accepted variants', () => {
  it('normalizes the current format', () => {
    const r = accepted(currentPayload(), { planId: 'plan-7', version: 3 });
    expect(r.version).toEqual({
      planId: 'plan-7',
      version: 3,
      name: 'Q1 demand plan',
      status: 'draft',
      runId: 'run-123',
      summary: { any: 'object' },
      kpis: [{ name: 'fill_rate', value: 0.97, unit: 'ratio' }],
      series: [{ item: 'SKU-1', location: 'TOKYO', period: '2026-01-05', metric: 'demand', value: 120.5 }],
      events: [{ seq: 0, at: '2026-01-01T00:00:00.000Z', type: 'created', actor: 'alice', detail: {} }],
    });
    expect(r.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads kpis as an object map with unit null, values as numbers or JSON-number strings', () => {
    const r = accepted({ ...currentPayload(), kpis: { service_level: '0.95', fill_rate: 0.97, bias: '-3' } });
    expect(r.version.kpis).toEqual([
      { name: 'bias', value: -3, unit: null },
      { name: 'fill_rate', value: 0.97, unit: null },
      { name: 'service_level', value: 0.95, unit: null },
    ]);
  });

  it.each([
    ['120.5', 120.5],
    ['-3', -3],
    ['1e3', 1000],
    ['1.205E+2', 120.5],
    ['120.50', 120.5],
    ['0', 0],
    ['12345678901234567890', 1.2345678901234567e19], // beyond 2^53: nearest double
    ['1e-320', 1e-320],
  ])('accepts the numeric string %j as %p in series and KPI values', (text, expected) => {
    const r = accepted({
      ...currentPayload(),
      series: [{ item: 'A', location: 'L', period: '2026-01', metric: 'm', value: text }],
      kpis: [{ name: 'k', value: text }],
    });
    expect(r.version.series[0].value).toBe(expected);
    expect(r.version.kpis[0].value).toBe(expected);
  });

  it('normalizes -0 (number or "-0") to 0', () => {
    const r = accepted({ ...currentPayload(), kpis: { a: '-0', b: -0 } });
    expect(r.version.kpis.map((k) => Object.is(k.value, 0))).toEqual([true, true]);
  });

  it.each([
    ['missing', undefined],
    ['null', null],
  ])('maps run_id %s to null', (_label, runId) => {
    const payload = currentPayload();
    if (runId === undefined) delete payload.run_id;
    else payload.run_id = runId;
    expect(accepted(payload).version.runId).toBeNull();
  });

  it('maps name, status and run_id that are missing or not strings to null', () => {
    const r = accepted({ series: [], name: 12, status: { s: 1 }, run_id: 42 });
    expect([r.version.name, r.version.status, r.version.runId]).toEqual([null, null, null]);
  });

  it('treats kpis, events and summary that are missing or null as empty', () => {
    for (const absent of [undefined, null]) {
      const r = accepted({ series: [], kpis: absent, events: absent, summary: absent });
      expect(r.version).toMatchObject({ kpis: [], events: [], summary: {}, series: [] });
    }
    expect(accepted({ series: [] }).version).toMatchObject({ kpis: [], events: [], summary: {} });
  });

  it('accepts an empty series array', () => {
    expect(accepted({ ...currentPayload(), series: [] }).version.series).toEqual([]);
  });

  it('defaults a missing or null KPI unit to null', () => {
    const r = accepted({
      ...currentPayload(),
      kpis: [
        { name: 'b', value: 1 },
        { name: 'a', value: 2, unit: null },
      ],
    });
    expect(r.version.kpis).toEqual([
      { name: 'a', value: 2, unit: null },
      { name: 'b', value: 1, unit: null },
    ]);
  });

  it('sorts kpis by name in code-unit order, not locale order', () => {
    const r = accepted({ ...currentPayload(), kpis: { beta: 1, Alpha: 2, alpha: 3, é: 4, z: 5, '10': 6, '9': 7 } });
    expect(r.version.kpis.map((k) => k.name)).toEqual(['10', '9', 'Alpha', 'alpha', 'beta', 'z', 'é']);
  });

  it('sorts series by (item, location, period, metric) in code-unit order', () => {
    const row = (item: string, location: string, period: string, metric: string) => ({ item, location, period, metric, value: 1 });
    const r = accepted({
      ...currentPayload(),
      series: [
        row('SKU-2', 'A', '2026-01', 'demand'),
        row('SKU-10', 'b', '2026-01', 'demand'),
        row('SKU-10', 'B', '2026-02', 'demand'),
        row('SKU-10', 'B', '2026-01', 'supply'),
        row('SKU-10', 'B', '2026-01', 'Supply'),
        row('sku-1', 'A', '2026-01', 'demand'),
      ],
    });
    expect(r.version.series.map((s) => [s.item, s.location, s.period, s.metric].join('|'))).toEqual([
      'SKU-10|B|2026-01|Supply',
      'SKU-10|B|2026-01|supply',
      'SKU-10|B|2026-02|demand',
      'SKU-10|b|2026-01|demand',
      'SKU-2|A|2026-01|demand',
      'sku-1|A|2026-01|demand',
    ]);
  });

  it('keeps events in document order with seq = index, normalizing at/actor/detail', () => {
    const r = accepted({
      ...currentPayload(),
      events: [
        { at: '2026-01-01T09:00:00+09:00', type: 'created' },
        { at: '2025-12-31 23:30:00.123456Z', type: 'edited', actor: null, detail: null },
        { at: '2026-01-02T03:04', type: 'published', actor: 'bob', detail: { n: 1, nested: { a: [1, 'x'] } } },
      ],
    });
    expect(r.version.events).toEqual([
      { seq: 0, at: '2026-01-01T00:00:00.000Z', type: 'created', actor: null, detail: {} },
      { seq: 1, at: '2025-12-31T23:30:00.123456Z', type: 'edited', actor: null, detail: {} },
      { seq: 2, at: '2026-01-02T03:04:00.000Z', type: 'published', actor: 'bob', detail: { n: 1, nested: { a: [1, 'x'] } } },
    ]);
  });

  it('ignores fields it does not know', () => {
    const r = accepted({
      ...currentPayload(),
      extra: 1,
      series: [{ item: 'A', location: 'L', period: 'P', metric: 'M', value: 1, note: 'x' }],
    });
    expect(r.version.series).toEqual([{ item: 'A', location: 'L', period: 'P', metric: 'M', value: 1 }]);
  });
});

interface RejectCase {
  payload: unknown;
  reason: RejectReason;
  /** Text the message must contain: it names the offending field. */
  names: string;
  detail?: JsonObject;
}

const withSeries = (...series: unknown[]) => ({ ...currentPayload(), series });
const seriesRow = (over: JsonObject = {}): JsonObject => ({
  item: 'A',
  location: 'L',
  period: '2026-01',
  metric: 'demand',
  value: 1,
  ...over,
});
const withoutKey = (o: JsonObject, key: string): JsonObject => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));
const withEvent = (event: unknown) => ({
  ...currentPayload(),
  events: [{ at: '2026-01-01T00:00:00Z', type: 'created' }, event],
});
const withKpis = (kpis: unknown) => ({ ...currentPayload(), kpis });

const REJECT_CASES: Record<RejectReason, RejectCase[]> = {
  payload_not_object: [null, [], [currentPayload()], 'plan', 42, true, undefined].map((payload) => ({
    payload,
    reason: 'payload_not_object' as const,
    names: 'payload',
  })),
  series_not_array: [
    {
      payload: withoutKey(currentPayload(), 'series'),
      reason: 'series_not_array',
      names: 'series is missing',
      detail: { field: 'series' },
    },
    ...[null, {}, 'rows', 3].map((series) => ({
      payload: { ...currentPayload(), series },
      reason: 'series_not_array' as const,
      names: 'series',
    })),
  ],
  series_missing_field: [
    ...['item', 'location', 'period', 'metric'].flatMap((field) => [
      {
        payload: withSeries(seriesRow({ item: 'B' }), withoutKey(seriesRow(), field)),
        reason: 'series_missing_field' as const,
        names: `series[1].${field}`,
        detail: { index: 1, field },
      },
      {
        payload: withSeries(seriesRow({ [field]: 5 })),
        reason: 'series_missing_field' as const,
        names: `series[0].${field}`,
        detail: { index: 0, field },
      },
    ]),
    ...[null, 'row', 7, []].map((row) => ({
      payload: withSeries(seriesRow(), row),
      reason: 'series_missing_field' as const,
      names: 'series[1]',
      detail: { index: 1 },
    })),
  ],
  value_not_finite: [
    ...[
      NaN,
      'abc',
      ' 1',
      '1 ',
      '0x10',
      '',
      'Infinity',
      '-Infinity',
      'NaN',
      '+1',
      '.5',
      '1.',
      '01',
      '1e',
      null,
      true,
      {},
      [],
    ].map((value) => ({
      payload: withSeries(seriesRow({ item: 'B' }), seriesRow({ value })),
      reason: 'value_not_finite' as const,
      names: 'series[1].value',
      detail: { index: 1, field: 'value' },
    })),
    {
      payload: withSeries(withoutKey(seriesRow(), 'value')),
      reason: 'value_not_finite',
      names: 'series[0].value',
      detail: { got: 'missing' },
    },
    {
      payload: withKpis([{ name: 'fill_rate', value: 'abc' }]),
      reason: 'value_not_finite',
      names: 'kpis[0].value',
      detail: { name: 'fill_rate' },
    },
    { payload: withKpis([{ name: 'fill_rate' }]), reason: 'value_not_finite', names: 'kpis[0].value' },
    { payload: withKpis({ fill_rate: 'abc' }), reason: 'value_not_finite', names: 'kpis.fill_rate', detail: { name: 'fill_rate' } },
    { payload: withKpis({ fill_rate: null }), reason: 'value_not_finite', names: 'kpis.fill_rate' },
  ],
  number_out_of_range: [
    // JSON.parse turns a JSON number beyond float8 (1e400) into Infinity; strings keep their text.
    ...[Infinity, -Infinity, '1e400', '-1e309', '1e999'].map((value) => ({
      payload: withSeries(seriesRow({ item: 'B' }), seriesRow({ value })),
      reason: 'number_out_of_range' as const,
      names: 'series[1].value',
      detail: { index: 1, field: 'value', range: 'overflow' },
    })),
    ...['1e-400', '-2.5e-330', '0.' + '0'.repeat(400) + '1'].map((value) => ({
      payload: withSeries(seriesRow({ value })),
      reason: 'number_out_of_range' as const,
      names: 'series[0].value',
      detail: { index: 0, field: 'value', range: 'underflow' },
    })),
    {
      payload: withKpis([{ name: 'fill_rate', value: '1e400' }]),
      reason: 'number_out_of_range',
      names: 'kpis[0].value (fill_rate)',
      detail: { index: 0, name: 'fill_rate', range: 'overflow' },
    },
    { payload: withKpis({ bias: '-1e-400' }), reason: 'number_out_of_range', names: 'kpis.bias', detail: { name: 'bias', range: 'underflow' } },
  ],
  key_too_long: [
    ...['item', 'location', 'period', 'metric'].map((field) => ({
      payload: withSeries(seriesRow({ item: 'B' }), seriesRow({ [field]: 'x'.repeat(10_000) })),
      reason: 'key_too_long' as const,
      names: `series[1] has a plan_series primary key of`,
      detail: { index: 1, table: 'plan_series', field, limit: 2600, fieldBytes: { [field]: 10_000, plan_id: 10 } },
    })),
    {
      // 900 three-byte characters: 900 code units, 2,700 bytes.
      payload: withSeries(seriesRow({ period: '期'.repeat(900) })),
      reason: 'key_too_long',
      names: 'period 2700',
      detail: { field: 'period', fieldBytes: { period: 2700 } },
    },
    {
      payload: withKpis([{ name: 'k'.repeat(3000), value: 1 }]),
      reason: 'key_too_long',
      names: 'kpis[0] has a plan_kpis primary key',
      detail: { index: 0, table: 'plan_kpis', field: 'name' },
    },
    { payload: withKpis({ ['k'.repeat(3000)]: 1 }), reason: 'key_too_long', names: 'name 3000 bytes', detail: { table: 'plan_kpis' } },
  ],
  text_has_nul: [
    ...(['name', 'status', 'run_id'] as const).map((field) => ({
      payload: { ...currentPayload(), [field]: 'a\u0000b' },
      reason: 'text_has_nul' as const,
      names: `${field} contains U+0000`,
      detail: { field },
    })),
    ...['item', 'location', 'period', 'metric'].map((field) => ({
      payload: withSeries(seriesRow({ item: 'B' }), seriesRow({ [field]: 'SKU\u0000' })),
      reason: 'text_has_nul' as const,
      names: `series[1].${field}`,
      detail: { index: 1, field },
    })),
    { payload: withKpis([{ name: 'k\u0000', value: 1 }]), reason: 'text_has_nul', names: 'kpis[0].name', detail: { index: 0, field: 'name' } },
    { payload: withKpis([{ name: 'k', value: 1, unit: '\u0000' }]), reason: 'text_has_nul', names: 'kpis[0].unit' },
    { payload: withKpis({ 'k\u0000': 1 }), reason: 'text_has_nul', names: 'KPI name in the kpis map' },
    { payload: withEvent({ at: '2026-01-01T00:00:00Z', type: 't\u0000' }), reason: 'text_has_nul', names: 'events[1].type' },
    { payload: withEvent({ at: '2026-01-01T00:00:00Z', type: 't', actor: '\u0000' }), reason: 'text_has_nul', names: 'events[1].actor' },
    {
      payload: withEvent({ at: '2026-01-01T00:00:00Z', type: 't', detail: { a: [{ b: 'x\u0000' }] } }),
      reason: 'text_has_nul',
      names: 'events[1].detail.a[0].b',
      detail: { index: 1, field: 'detail.a[0].b' },
    },
    {
      payload: { ...currentPayload(), summary: { ok: 1, nested: { 'k\u0000': 1 } } },
      reason: 'text_has_nul',
      names: 'summary.nested["k\\u0000"]',
      detail: { path: 'summary.nested["k\\u0000"]' },
    },
  ],
  duplicate_series_key: [
    {
      payload: withSeries(seriesRow(), seriesRow({ item: 'B' }), seriesRow({ value: 2 })),
      reason: 'duplicate_series_key',
      names: 'series[2] repeats the key of series[0]',
      detail: { index: 2, firstIndex: 0, item: 'A', location: 'L', period: '2026-01', metric: 'demand' },
    },
  ],
  duplicate_kpi: [
    {
      payload: withKpis([
        { name: 'fill_rate', value: 1 },
        { name: 'bias', value: 2 },
        { name: 'fill_rate', value: 3 },
      ]),
      reason: 'duplicate_kpi',
      names: 'kpis[2] repeats the name "fill_rate" of kpis[0]',
      detail: { index: 2, firstIndex: 0, name: 'fill_rate' },
    },
  ],
  event_invalid_at: [
    ...[
      null,
      123,
      '',
      'yesterday',
      'January 1, 2026',
      '2026-01-01',
      '2026-13-01T00:00:00Z',
      '2026-02-29T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T00:60:00Z',
      '2026-01-01T00:00:60Z',
      '2026-01-01T00:00:00+24:00',
      '2026-01-01T00:00:00Z junk',
      new Date('2026-01-01T00:00:00Z'),
    ].map((at) => ({
      payload: withEvent({ at, type: 'edited' }),
      reason: 'event_invalid_at' as const,
      names: 'events[1].at',
      detail: { index: 1, field: 'at' },
    })),
    { payload: withEvent({ type: 'edited' }), reason: 'event_invalid_at', names: 'events[1].at', detail: { got: 'missing' } },
  ],
  kpis_invalid: [
    ...['kpis', 5, true].map((kpis) => ({
      payload: withKpis(kpis),
      reason: 'kpis_invalid' as const,
      names: 'kpis is',
      detail: { field: 'kpis' },
    })),
    ...[null, 'kpi', 3, []].map((entry) => ({
      payload: withKpis([{ name: 'a', value: 1 }, entry]),
      reason: 'kpis_invalid' as const,
      names: 'kpis[1]',
      detail: { index: 1 },
    })),
    ...[undefined, '', null, 5].map((name) => ({
      payload: withKpis([{ name, value: 1 }]),
      reason: 'kpis_invalid' as const,
      names: 'kpis[0].name',
      detail: { index: 0, field: 'name' },
    })),
    ...[5, {}, true, []].map((unit) => ({
      payload: withKpis([{ name: 'a', value: 1, unit }]),
      reason: 'kpis_invalid' as const,
      names: 'kpis[0].unit',
      detail: { index: 0, field: 'unit' },
    })),
    { payload: withKpis({ fill_rate: 1, '': 2 }), reason: 'kpis_invalid', names: 'empty KPI name' },
  ],
  events_invalid: [
    ...['events', 5, true, {}].map((events) => ({
      payload: { ...currentPayload(), events },
      reason: 'events_invalid' as const,
      names: 'events is',
      detail: { field: 'events' },
    })),
    ...[null, 'event', 3, []].map((event) => ({
      payload: withEvent(event),
      reason: 'events_invalid' as const,
      names: 'events[1]',
      detail: { index: 1 },
    })),
    ...[undefined, null, 5].map((type) => ({
      payload: withEvent({ at: '2026-01-01T00:00:00Z', type }),
      reason: 'events_invalid' as const,
      names: 'events[1].type',
      detail: { index: 1, field: 'type' },
    })),
    ...[5, {}, true].map((actor) => ({
      payload: withEvent({ at: '2026-01-01T00:00:00Z', type: 't', actor }),
      reason: 'events_invalid' as const,
      names: 'events[1].actor',
      detail: { index: 1, field: 'actor' },
    })),
    ...['detail', [], 5, true].map((detail) => ({
      payload: withEvent({ at: '2026-01-01T00:00:00Z', type: 't', detail }),
      reason: 'events_invalid' as const,
      names: 'events[1].detail',
      detail: { index: 1, field: 'detail' },
    })),
    {
      payload: withEvent({ at: '2026-01-01T00:00:00Z', type: 't', detail: { a: { b: [1, NaN] } } }),
      reason: 'events_invalid',
      names: 'events[1].detail.a.b[1]',
      detail: { index: 1, field: 'detail.a.b[1]' },
    },
  ],
  summary_invalid: [
    ...['summary', 5, true, ['a']].map((summary) => ({
      payload: { ...currentPayload(), summary },
      reason: 'summary_invalid' as const,
      names: 'summary is',
      detail: { field: 'summary' },
    })),
    {
      payload: { ...currentPayload(), summary: { a: [1, { b: Infinity }] } },
      reason: 'summary_invalid',
      names: 'summary.a[1].b',
      detail: { path: 'summary.a[1].b' },
    },
    { payload: { ...currentPayload(), summary: { when: new Date(0) } }, reason: 'summary_invalid', names: 'summary.when' },
    { payload: { ...currentPayload(), summary: { u: undefined } }, reason: 'summary_invalid', names: 'summary.u' },
  ],
};

describe('transformArtifact: rejects', () => {
  it('has cases for every reject reason', () => {
    expect(Object.keys(REJECT_CASES).sort()).toEqual([...REJECT_REASONS].sort());
  });

  const cases = Object.values(REJECT_CASES)
    .flat()
    .map((c, i) => [`${c.reason} #${i}: ${c.names}`, c] as const);

  it.each(cases)('%s', (_title, c) => {
    const r = rejected(c.payload);
    expect(r.reason).toBe(c.reason);
    expect(r.message).toContain(c.names);
    if (c.detail) expect(r.detail).toMatchObject(c.detail);
    expect(JSON.parse(JSON.stringify(r.detail))).toEqual(r.detail); // plain JSON, storable in jsonb
    // The NUL itself is never echoed: the reject row must be storable.
    expect([r.message, ...Object.values(r.detail)].filter((v) => typeof v === 'string' && v.includes('\u0000'))).toEqual([]);
  });

  it('keeps messages and details small, never echoing the payload', () => {
    const huge = 'x'.repeat(10_000);
    const series = Array.from({ length: 5_000 }, (_, i) => seriesRow({ item: `SKU-${i}`, note: huge }));
    series.push(seriesRow({ item: 'SKU-9999', value: huge }));
    const r = rejected({ ...currentPayload(), summary: { huge }, series });
    expect(r.reason).toBe('value_not_finite');
    expect(r.message).toContain('series[5000].value');
    expect(r.message.length).toBeLessThan(200);
    expect(JSON.stringify(r.detail).length).toBeLessThan(200);
  });

  it('reports the first defect in document order when there are several', () => {
    const r = rejected(withSeries(seriesRow({ value: 'bad' }), withoutKey(seriesRow(), 'item')));
    expect(r).toMatchObject({ reason: 'value_not_finite', detail: { index: 0 } });
  });

  it('rejects non-JSON payload values as payload_not_object instead of throwing', () => {
    for (const payload of [Symbol('s'), () => 1, 10n, new Map(), new Date(0)]) {
      const r = transformArtifact(artifact(payload), nativeSha256);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toBe('payload_not_object');
    }
  });

  it('accepts a null-prototype object as a payload (objects from another realm or parser)', () => {
    const payload = Object.assign(Object.create(null) as object, {
      series: [],
      summary: Object.assign(Object.create(null) as object, { a: 1 }),
    });
    expect(accepted(payload).version.summary).toEqual({ a: 1 });
  });
});

describe('transformArtifact: duplicate keys among several', () => {
  it('reports the first equal pair in key order, with the earlier document index as firstIndex', () => {
    // Sorted: B@1, B@3, C@0, C@2: the B pair is found first.
    const r = rejected(withSeries(seriesRow({ item: 'C' }), seriesRow({ item: 'B' }), seriesRow({ item: 'C' }), seriesRow({ item: 'B' })));
    expect(r).toMatchObject({ reason: 'duplicate_series_key', detail: { index: 3, firstIndex: 1, item: 'B' } });
  });

  it('reports the first two of three equal KPI names', () => {
    const r = rejected(withKpis([{ name: 'x', value: 1 }, { name: 'a', value: 2 }, { name: 'x', value: 3 }, { name: 'x', value: 4 }]));
    expect(r).toMatchObject({ reason: 'duplicate_kpi', detail: { index: 2, firstIndex: 0, name: 'x' } });
  });
});
