import { diffVersions, shownValue } from '../../transform/version-diff';
import type { NormalizedVersion } from '../../transform/types';

const base = (): NormalizedVersion => ({
  planId: 'plan-1',
  version: 2,
  name: 'Q1',
  status: 'draft',
  runId: 'run-1',
  summary: { horizon: 4, scope: { regions: ['TOKYO'] } },
  kpis: [
    { name: 'bias', value: 0.1, unit: null },
    { name: 'fill_rate', value: 0.97, unit: 'ratio' },
  ],
  series: [
    { item: 'SKU-1', location: 'OSAKA', period: '2026-01', metric: 'demand', value: 1 },
    { item: 'SKU-1', location: 'TOKYO', period: '2026-01', metric: 'demand', value: 2 },
  ],
  events: [
    { seq: 0, at: '2026-01-01T00:00:00.000Z', type: 'created', actor: 'alice', detail: {} },
    { seq: 1, at: '2026-01-02T00:00:00.000Z', type: 'edited', actor: null, detail: { note: 'x' } },
  ],
});

describe('diffVersions', () => {
  test('equal versions (objects compared by content, not key order) have no differences', () => {
    const copy = base();
    copy.summary = { scope: { regions: ['TOKYO'] }, horizon: 4 };
    expect(diffVersions(base(), copy)).toEqual([]);
  });

  test('names each differing field: a series value, a KPI unit, an event actor, the run link, the summary', () => {
    const repo = base();
    repo.runId = 'run-2';
    repo.summary = { horizon: 5 };
    repo.kpis[1] = { ...repo.kpis[1], unit: 'pct' };
    repo.events[0] = { ...repo.events[0], actor: 'mallory' };
    repo.series[1] = { ...repo.series[1], value: 3 };
    expect(diffVersions(base(), repo)).toEqual([
      { field: 'runId', legacy: 'run-1', repository: 'run-2' },
      { field: 'summary', legacy: '{"horizon":4,"scope":{"regions":["TOKYO"]}}', repository: '{"horizon":5}' },
      { field: 'kpis[fill_rate].unit', legacy: 'ratio', repository: 'pct' },
      { field: 'events[0].actor', legacy: 'alice', repository: 'mallory' },
      { field: 'series[SKU-1|TOKYO|2026-01|demand].value', legacy: 2, repository: 3 },
    ]);
  });

  test('rows on one side only are reported with the row on the side that has it', () => {
    const repo = base();
    repo.kpis = [repo.kpis[1]];
    repo.series.push({ item: 'SKU-2', location: 'TOKYO', period: '2026-01', metric: 'demand', value: 9 });
    repo.events = [];
    const diffs = diffVersions(base(), repo);
    expect(diffs.map((d) => d.field)).toEqual(['kpis[bias]', 'events[0]', 'events[1]', 'series[SKU-2|TOKYO|2026-01|demand]']);
    expect(diffs[0]).toEqual({ field: 'kpis[bias]', legacy: '{"name":"bias","unit":null,"value":0.1}', repository: null });
    expect(diffs[3].legacy).toBeNull();
  });

  test('stops at the limit', () => {
    const repo = base();
    repo.series = repo.series.map((s) => ({ ...s, value: s.value + 1 }));
    repo.name = 'other';
    expect(diffVersions(base(), repo, 2).map((d) => d.field)).toEqual(['name', 'series[SKU-1|OSAKA|2026-01|demand].value']);
  });
});

describe('shownValue', () => {
  test('keeps primitives, writes objects as canonical JSON, truncates long text', () => {
    expect(shownValue(1.5)).toBe(1.5);
    expect(shownValue(undefined)).toBeNull();
    expect(shownValue({ b: 1, a: [true] })).toBe('{"a":[true],"b":1}');
    expect(shownValue({ long: 'x'.repeat(500) }, 20)).toBe(`{"long":"${'x'.repeat(11)}…`);
  });
});
