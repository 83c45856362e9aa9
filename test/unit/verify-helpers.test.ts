import { urlForDatabase } from '../../activities/verify';
import { mentionsPlan } from '../../activities/plans-api';
import { pickRepresentatives, type RepresentativeCandidates } from '../../db/representative-plans';
import { isSampled, sampleBucket, sampleThreshold } from '../../db/verification';

describe('verification sample', () => {
  test('the bucket is the first 32 bits of md5("<plan_id>/<version>"), as the SQL computes it', () => {
    // Value computed by PostgreSQL: ('x' || substr(md5('plan-00001/3'), 1, 8))::bit(32)::int8
    expect(sampleBucket('plan-00001', 3)).toBe(4165932819);
  });

  test('a fraction samples about that share of versions, always the same ones; "all" and 1 sample everything', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => [`plan-${Math.floor(i / 10)}`, (i % 10) + 1] as const);
    const picked = keys.filter(([p, v]) => isSampled(p, v, 0.1));
    expect(picked.length / keys.length).toBeCloseTo(0.1, 1);
    expect(keys.filter(([p, v]) => isSampled(p, v, 0.1))).toEqual(picked);
    // A larger fraction checks a superset: raising the sample never drops a version checked before.
    const half = new Set(keys.filter(([p, v]) => isSampled(p, v, 0.5)).map(([p, v]) => `${p}/${v}`));
    expect(picked.every(([p, v]) => half.has(`${p}/${v}`))).toBe(true);
    expect(keys.every(([p, v]) => isSampled(p, v, 'all') && isSampled(p, v, 1))).toBe(true);
  });

  test('thresholds: null for everything, refused outside (0, 1]', () => {
    expect(sampleThreshold('all')).toBeNull();
    expect(sampleThreshold(1)).toBeNull();
    expect(sampleThreshold(0.25)).toBe(2 ** 30);
    for (const bad of [0, -0.5, 1.5, NaN]) expect(() => sampleThreshold(bad)).toThrow(/fraction in \(0, 1\]/);
  });
});

describe('pickRepresentatives', () => {
  const candidates = (over: Partial<RepresentativeCandidates>): RepresentativeCandidates => ({
    most_versions: [],
    most_series: [],
    most_events: [],
    first_plan: [],
    last_plan: [],
    ...over,
  });

  test("each criterion's top plan first (shared when one plan tops several), then runners-up rank by rank", () => {
    const picks = pickRepresentatives(
      candidates({
        most_versions: ['a', 'b', 'c'],
        most_series: ['r', 'a', 'b'],
        most_events: ['r', 'd', 'a'],
        first_plan: ['a', 'b', 'c'],
        last_plan: ['z', 'r', 'd'],
      }),
      5,
    );
    expect(picks).toEqual([
      {
        planId: 'a',
        chosenFor: [
          { criterion: 'most_versions', rank: 1 },
          { criterion: 'first_plan', rank: 1 },
        ],
      },
      {
        planId: 'r',
        chosenFor: [
          { criterion: 'most_series', rank: 1 },
          { criterion: 'most_events', rank: 1 },
        ],
      },
      { planId: 'z', chosenFor: [{ criterion: 'last_plan', rank: 1 }] },
      { planId: 'b', chosenFor: [{ criterion: 'most_versions', rank: 2 }] },
      { planId: 'd', chosenFor: [{ criterion: 'most_events', rank: 2 }] },
    ]);
  });

  test('never more than n; fewer only when there are fewer plans', () => {
    const all = candidates({
      most_versions: ['a', 'b'],
      most_series: ['c', 'a'],
      most_events: ['d'],
      first_plan: ['a', 'b'],
      last_plan: ['e', 'd'],
    });
    expect(pickRepresentatives(all, 3).map((p) => p.planId)).toEqual(['a', 'c', 'd']);
    expect(
      pickRepresentatives(candidates({ most_versions: ['a', 'b'], first_plan: ['a', 'b'], last_plan: ['b', 'a'] }), 3).map((p) => p.planId),
    ).toEqual(['a', 'b']);
    expect(pickRepresentatives(candidates({}), 3)).toEqual([]);
  });
});

describe('HTTP and URL helpers', () => {
  test('a plan page mentions the plan as raw or JSON-escaped text', () => {
    expect(mentionsPlan('{"id":"plan-1"}', 'plan-1')).toBe(true);
    expect(mentionsPlan(JSON.stringify({ id: 'a"b' }), 'a"b')).toBe(true);
    expect(mentionsPlan('{"id":"plan-2"}', 'plan-1')).toBe(false);
  });

  test('urlForDatabase swaps only the database name', () => {
    expect(urlForDatabase('postgres://u:p%40ss@db.example:5433/plans?sslmode=require', 'plandb_drill_x')).toBe(
      'postgres://u:p%40ss@db.example:5433/plandb_drill_x?sslmode=require',
    );
  });
});
