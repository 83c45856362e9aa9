import {
  demoArtifacts,
  expectedRejectReason,
  generateBadPayload,
  generatePayload,
  mulberry32,
  SEEDABLE_REJECT_REASONS,
  type DemoArtifact,
} from '../../transform/demo-payloads';
import { transformArtifact } from '../../transform/legacy-transform';
import { REJECT_REASONS, type JsonObject, type RejectReason } from '../../transform/types';
import { accepted, artifact } from './transform-fixtures';
import { nativeSha256 } from '../../db/native-hash';

describe('mulberry32', () => {
  it('is deterministic per seed, in [0, 1), and differs between seeds', () => {
    const draw = (seed: number) => Array.from({ length: 1000 }, mulberry32(seed));
    const a = draw(42);
    expect(draw(42)).toEqual(a);
    expect(draw(43)).not.toEqual(a);
    expect(a.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});

describe('generatePayload', () => {
  it('writes the current format with the requested counts', () => {
    const p = generatePayload(mulberry32(1), { series: 130, kpis: 8, events: 4, legacyFormat: false });
    expect(p).toMatchObject({ name: expect.any(String), status: expect.any(String), run_id: expect.stringMatching(/^run-/) });
    expect(p.summary).toEqual(expect.any(Object));
    expect(p.kpis).toHaveLength(8);
    expect(p.events).toHaveLength(4);
    const r = accepted(p);
    expect(r.version.series).toHaveLength(130);
    expect(r.version.kpis).toHaveLength(8);
    expect(r.version.events).toHaveLength(4);
    expect(r.version.kpis.every((k) => typeof k.name === 'string' && k.name !== '')).toBe(true);
  });

  it('writes empty current-format parts as [] and defaults to 3 KPIs and 2 events', () => {
    const empty = generatePayload(mulberry32(2), { series: 0, kpis: 0, events: 0, legacyFormat: false });
    expect(empty).toMatchObject({ series: [], kpis: [], events: [] });
    const defaults = accepted(generatePayload(mulberry32(2), { series: 1, legacyFormat: false })).version;
    expect([defaults.kpis.length, defaults.events.length]).toEqual([3, 2]);
  });

  it('writes the older format: KPI map, string numbers, run_id missing or null, optional parts omitted', () => {
    const rng = mulberry32(3);
    const docs = Array.from({ length: 40 }, () => generatePayload(rng, { series: 20, kpis: 3, events: 2, legacyFormat: true }));
    for (const d of docs) {
      expect(d.run_id ?? null).toBeNull();
      expect(Array.isArray(d.kpis)).toBe(false);
      expect(Object.keys(d.kpis as JsonObject)).toHaveLength(3);
      expect(accepted(d).version.series).toHaveLength(20);
    }
    const values = docs.flatMap((d) => (d.series as JsonObject[]).map((s) => s.value));
    expect(values.some((v) => typeof v === 'string')).toBe(true);
    expect(values.some((v) => typeof v === 'number')).toBe(true);
    expect(docs.some((d) => !('run_id' in d))).toBe(true);
    expect(docs.some((d) => 'run_id' in d)).toBe(true);
    expect(docs.some((d) => !('summary' in d))).toBe(true);
    const noParts = generatePayload(rng, { series: 2, kpis: 0, events: 0, legacyFormat: true });
    expect('kpis' in noParts || 'events' in noParts).toBe(false);
    expect(accepted(noParts).version).toMatchObject({ kpis: [], events: [] });
  });

  it('is deterministic for a seed', () => {
    const make = (seed: number) => generatePayload(mulberry32(seed), { series: 50, legacyFormat: seed % 2 === 0 });
    expect(make(7)).toEqual(make(7));
    expect(make(8)).toEqual(make(8));
    expect(make(7)).not.toEqual(make(9));
  });
});

describe('generateBadPayload', () => {
  it('is rejected with expectedRejectReason(index), covering every seedable reason in the first SEEDABLE_REJECT_REASONS.length indexes', () => {
    const rng = mulberry32(5);
    const seen = new Set<RejectReason>();
    for (let index = 0; index < SEEDABLE_REJECT_REASONS.length * 20; index++) {
      const r = transformArtifact(artifact(generateBadPayload(rng, index)), nativeSha256);
      expect(r.ok ? 'accepted' : r.reason).toBe(expectedRejectReason(index));
      if (index < SEEDABLE_REJECT_REASONS.length) seen.add(expectedRejectReason(index));
    }
    expect([...seen].sort()).toEqual([...SEEDABLE_REJECT_REASONS].sort());
  });

  it('can seed every reject reason except text_has_nul, which jsonb itself refuses', () => {
    expect(REJECT_REASONS.filter((r) => !SEEDABLE_REJECT_REASONS.includes(r))).toEqual(['text_has_nul']);
  });
});

describe('demoArtifacts', () => {
  const all = (opts: Parameters<typeof demoArtifacts>[0]): DemoArtifact[] => [...demoArtifacts(opts)];

  it('yields plans plan-00001.. with versions 1..N, then each plan\'s bad documents as extra versions', () => {
    const bad = 13;
    const docs = all({ plans: 4, versions: 5, series: 6, bad, seed: 9 });
    expect(docs).toHaveLength(4 * 5 + bad);
    const byPlan = new Map<string, number[]>();
    for (const d of docs) byPlan.set(d.planId, [...(byPlan.get(d.planId) ?? []), d.version]);
    expect([...byPlan.keys()]).toEqual(['plan-00001', 'plan-00002', 'plan-00003', 'plan-00004']);
    for (const versions of byPlan.values()) expect(versions).toEqual(versions.map((_, i) => i + 1));
    // 13 bad documents round-robin over 4 plans: 4, 3, 3, 3.
    expect([...byPlan.values()].map((v) => v.length - 5)).toEqual([4, 3, 3, 3]);
    expect(docs.filter((d) => d.version <= 5).every((d) => d.expectedReject === null)).toBe(true);
  });

  it('produces valid documents that transform, and bad ones rejected with their announced reason, every reason covered', () => {
    const docs = all({ plans: 3, versions: 8, series: 10, bad: SEEDABLE_REJECT_REASONS.length, seed: 11 });
    const reasons = new Set<string>();
    for (const d of docs) {
      const r = transformArtifact(artifact(d.payload, { planId: d.planId, version: d.version }), nativeSha256);
      if (d.expectedReject === null) {
        expect(r.ok).toBe(true);
        if (r.ok) expect(r.version.series).toHaveLength(10);
      } else {
        expect(r.ok ? 'accepted' : r.reason).toBe(d.expectedReject);
        reasons.add(d.expectedReject);
      }
    }
    expect([...reasons].sort()).toEqual([...SEEDABLE_REJECT_REASONS].sort());
  });

  it('writes every 4th valid document in the older format', () => {
    const docs = all({ plans: 5, versions: 8, series: 3, seed: 3 });
    // Only the current format carries a run_id string; older documents have it missing or null.
    const older = docs.map((d) => typeof (d.payload as JsonObject).run_id !== 'string');
    expect(older).toEqual(docs.map((_, i) => i % 4 === 3));
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const opts = { plans: 2, versions: 3, series: 4, bad: 3 };
    expect(all({ ...opts, seed: 1 })).toEqual(all({ ...opts, seed: 1 }));
    expect(all({ ...opts, seed: 1 })).not.toEqual(all({ ...opts, seed: 2 }));
  });

  it('streams: the first artifact of a huge set comes without generating the rest', () => {
    const it = demoArtifacts({ plans: 1_000_000, versions: 1_000, series: 100, seed: 1 });
    const first = it.next();
    expect(first.done).toBe(false);
    expect(first.value).toMatchObject({ planId: 'plan-00001', version: 1, expectedReject: null });
  });

  it.each([
    [{ plans: -1, versions: 1, series: 1 }, /plans/],
    [{ plans: 1, versions: 1.5, series: 1 }, /versions/],
    [{ plans: 1, versions: 1, series: NaN }, /series/],
    [{ plans: 0, versions: 1, series: 1, bad: 2 }, /at least one plan/],
  ])('refuses bad options %j', (opts, message) => {
    expect(() => demoArtifacts(opts).next()).toThrow(message);
  });
});
