import {
  BACKOFF,
  batchSizeChange,
  initialTuner,
  MAX_GROWTH,
  MIN_SAMPLES,
  observeBatch,
  observeError,
  observeThrottle,
  pin,
  release,
  WINDOW,
  type TunerConfig,
  type TunerState,
  type TunerStep,
} from '../../model/batch-tuner';
import { mulberry32 } from '../../transform/demo-payloads';

const TUNING: TunerConfig = { targetSeconds: 1, minBatchSize: 50, maxBatchSize: 5000, enabled: true };

/** A database whose batch costs a fixed 50 ms plus 2 ms an artifact: 1 s at 475 artifacts. */
const linearCost = (size: number) => 0.05 + 0.002 * size;
const IDEAL = 475;

interface Simulation {
  state: TunerState;
  steps: TunerStep[];
}

/** Runs `batches` full batches, each taking cost(size) seconds times the noise (1 without one). */
function simulate(state: TunerState, batches: number, cost = linearCost, noise: () => number = () => 1): Simulation {
  const steps: TunerStep[] = [];
  for (let i = 0; i < batches; i++) {
    const step = observeBatch(state, { artifacts: state.size, seconds: cost(state.size) * noise() });
    steps.push(step);
    state = step.state;
  }
  return { state, steps };
}

/** Feeds `n` full batches of `seconds` each, for tests that need a known window. */
const feed = (state: TunerState, n: number, seconds: number) => simulate(state, n, () => seconds).state;

describe('batch tuner: convergence on a linear-cost model', () => {
  test('from the minimum it grows to the target, never faster than ×1.2 a step, then stays', () => {
    const { state, steps } = simulate(initialTuner({ ...TUNING, initialSize: 50 }), 60);
    for (const s of steps) expect(s.to / s.from).toBeLessThanOrEqual(MAX_GROWTH + 1e-9);
    expect(steps.filter((s) => s.reason === 'grow').length).toBeGreaterThanOrEqual(Math.ceil(Math.log(400 / 50) / Math.log(MAX_GROWTH)));
    expect(steps.some((s) => s.reason === 'shrink')).toBe(false);
    expect(linearCost(state.size)).toBeGreaterThanOrEqual(0.9);
    expect(linearCost(state.size)).toBeLessThanOrEqual(1.1);
    // Converged: the last 20 batches change nothing.
    expect(steps.slice(-20).map((s) => s.reason)).toEqual(Array(20).fill('within-band'));
  });

  test('from the maximum it shrinks to the target, by at most ×0.5 a step', () => {
    const { state, steps } = simulate(initialTuner({ ...TUNING, initialSize: 5000 }), 60);
    expect(steps[MIN_SAMPLES - 1]).toMatchObject({ reason: 'shrink', from: 5000, to: 2500 });
    for (const s of steps) expect(s.to / s.from).toBeGreaterThanOrEqual(BACKOFF);
    expect(steps.some((s) => s.reason === 'grow')).toBe(false);
    expect(Math.abs(state.size - IDEAL) / IDEAL).toBeLessThan(0.12);
    expect(steps.slice(-20).every((s) => !s.changed)).toBe(true);
  });

  test('waits for MIN_SAMPLES full batches before its first decision', () => {
    const { steps } = simulate(initialTuner({ ...TUNING, initialSize: 50 }), MIN_SAMPLES);
    expect(steps.map((s) => s.reason)).toEqual([...Array(MIN_SAMPLES - 1).fill('warming-up'), 'grow']);
    expect(steps.at(-1)).toMatchObject({ from: 50, to: 60 });
  });

  test('stable under ±20% noise: once converged the size stays in a band around the ideal and rarely moves', () => {
    for (const seed of [1, 2, 3, 42, 1234]) {
      const rng = mulberry32(seed);
      const noise = () => 0.8 + 0.4 * rng();
      const warm = simulate(initialTuner({ ...TUNING, initialSize: 50 }), 60, linearCost, noise);
      const { steps } = simulate(warm.state, 500, linearCost, noise);
      const sizes = steps.map((s) => s.to);
      expect([seed, Math.min(...sizes) >= IDEAL * 0.8, Math.max(...sizes) <= IDEAL * 1.25]).toEqual([seed, true, true]);
      // The band absorbs most of the noise: far fewer changes than batches.
      expect([seed, steps.filter((s) => s.changed).length < 60]).toEqual([seed, true]);
    }
  });

  test('one slow batch among fast ones changes nothing: the median ignores it', () => {
    const state = feed(initialTuner({ ...TUNING, initialSize: 500 }), WINDOW, 1);
    const step = observeBatch(state, { artifacts: 500, seconds: 30 });
    expect(step).toMatchObject({ changed: false, reason: 'within-band', to: 500 });
  });

  test('two batches far over the target in a row shrink at once; a mild slowdown only once the window agrees', () => {
    const settled = feed(initialTuner({ ...TUNING, initialSize: 1000 }), WINDOW, 1);
    const sudden = simulate(settled, 2, () => 3).steps;
    expect(sudden.map((s) => [s.reason, s.to])).toEqual([['within-band', 1000], ['shrink', 500]]);
    // 15% over: not far over, so the window's median (4 of 7 batches) must say it too.
    const mild = simulate(settled, 4, () => 1.15).steps;
    expect(mild.map((s) => s.reason)).toEqual(['within-band', 'within-band', 'within-band', 'shrink']);
    expect(mild[3].to).toBe(Math.ceil(1000 / 1.15));
  });

  test('a cost cliff (10x per artifact past 700) is probed in a bounded sawtooth, mostly below it', () => {
    const cliff = (size: number) => (size < 700 ? 0.001 * size : 0.01 * size);
    const { steps } = simulate(initialTuner({ ...TUNING, initialSize: 500 }), 100, cliff);
    const sizes = steps.map((s) => s.from);
    expect(sizes.filter((n) => n >= 700).length).toBeLessThanOrEqual(25);
    expect(Math.max(...sizes)).toBeLessThan(700 * MAX_GROWTH * MAX_GROWTH);
    expect(Math.min(...sizes.slice(10))).toBeGreaterThan(700 * BACKOFF * BACKOFF);
  });

  test('batches cut short (the end of a range, a limit) are not measured', () => {
    const state = feed(initialTuner({ ...TUNING, initialSize: 500 }), 2, 1);
    const step = observeBatch(state, { artifacts: 7, seconds: 0.06 });
    expect(step).toMatchObject({ changed: false, reason: 'partial-batch' });
    expect(step.state.recent).toHaveLength(2);
    // A batch read with an older, smaller limit than the current size is full for what it asked.
    expect(observeBatch(state, { artifacts: 400, seconds: 0.8, requested: 400 }).state.recent).toHaveLength(3);
    expect(observeBatch(state, { artifacts: 0, seconds: 0.01, requested: 0 }).reason).toBe('partial-batch');
  });
});

describe('batch tuner: bounds', () => {
  test('clamps to [minBatchSize, maxBatchSize] when growing, shrinking and starting', () => {
    expect(initialTuner({ ...TUNING, initialSize: 10 }).size).toBe(50);
    expect(initialTuner({ ...TUNING, initialSize: 20_000 }).size).toBe(5000);
    // Infinitely fast batches: grows to the maximum and stays there.
    const fast = simulate(initialTuner({ ...TUNING, initialSize: 4500 }), 10, () => 0.01);
    expect(fast.state.size).toBe(5000);
    expect(fast.steps.at(-1)?.reason).toBe('at-limit');
    const slow = simulate(initialTuner({ ...TUNING, initialSize: 60 }), 10, () => 50);
    expect(slow.state.size).toBe(50);
    expect(slow.steps.at(-1)?.reason).toBe('at-limit');
  });

  test('tuning off: observations change nothing and the initial size is kept as given', () => {
    const off = initialTuner({ ...TUNING, enabled: false, initialSize: 7 });
    expect(off.size).toBe(7);
    const { state, steps } = simulate(off, 10, () => 10);
    expect(state.size).toBe(7);
    expect(new Set(steps.map((s) => s.reason))).toEqual(new Set(['disabled']));
    expect(observeThrottle(state)).toMatchObject({ changed: false, reason: 'disabled' });
    expect(observeError(state)).toMatchObject({ changed: false, reason: 'disabled' });
    expect(pin(state, 30)).toMatchObject({ changed: true, reason: 'pin', to: 30 });
  });
});

describe('batch tuner: trouble backs off hard', () => {
  const converged = () => feed(initialTuner({ ...TUNING, initialSize: 1000 }), WINDOW, 1);

  test('a throttle hold halves the size once, however many checks it lasts, and empties the window', () => {
    const first = observeThrottle(converged());
    expect(first).toMatchObject({ changed: true, reason: 'throttle', from: 1000, to: 500 });
    expect(first.state.recent).toEqual([]);
    expect(first.state.lastChange).toEqual({ reason: 'throttle', from: 1000, to: 500 });
    const again = observeThrottle(first.state);
    expect(again).toMatchObject({ changed: false, reason: 'same-hold', to: 500 });
    // A batch after the hold ends it: the next hold halves again.
    const after = observeBatch(again.state, { artifacts: 500, seconds: 0.5 });
    expect(after.reason).toBe('warming-up');
    expect(observeThrottle(after.state)).toMatchObject({ changed: true, reason: 'throttle', to: 250 });
  });

  test('every error halves, down to the minimum', () => {
    let state = converged();
    const sizes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const step = observeError(state);
      state = step.state;
      sizes.push(step.to);
    }
    expect(sizes).toEqual([500, 250, 125, 63, 50, 50]);
    expect(observeError(state).reason).toBe('at-limit');
  });

  test('after a back-off it grows again only from fresh batches, at most ×1.2 a step', () => {
    const backedOff = observeError(converged()).state;
    const { steps } = simulate(backedOff, MIN_SAMPLES + 3, () => 0.5);
    expect(steps.slice(0, MIN_SAMPLES - 1).map((s) => s.reason)).toEqual(Array(MIN_SAMPLES - 1).fill('warming-up'));
    expect(steps[MIN_SAMPLES - 1]).toMatchObject({ reason: 'grow', from: 500, to: 600 });
  });
});

describe('batch tuner: pin and release (setBatchSize)', () => {
  test('a pin holds the size against fast and slow batches, throttles and errors', () => {
    const pinned = pin(initialTuner({ ...TUNING, initialSize: 500 }), 20);
    // The operator's size is kept even below minBatchSize.
    expect(pinned).toMatchObject({ changed: true, reason: 'pin', from: 500, to: 20 });
    expect(pinned.state.pinned).toBe(true);
    const { state, steps } = simulate(pinned.state, 10, () => 0.001);
    expect(state.size).toBe(20);
    expect(new Set(steps.map((s) => s.reason))).toEqual(new Set(['pinned']));
    expect(observeThrottle(state)).toMatchObject({ changed: false, reason: 'pinned', to: 20 });
    expect(observeError(state)).toMatchObject({ changed: false, reason: 'pinned', to: 20 });
  });

  test('pinning the size it already has still records the pin; repeating it does not', () => {
    const tuner = initialTuner({ ...TUNING, initialSize: 500 });
    const first = pin(tuner, 500);
    expect(first).toMatchObject({ changed: true, reason: 'pin', from: 500, to: 500 });
    expect(pin(first.state, 500).changed).toBe(false);
    expect(pin(first.state, 600)).toMatchObject({ changed: true, from: 500, to: 600 });
  });

  test('release resumes tuning from the pinned size, brought into bounds, with what the pin measured', () => {
    const pinned = simulate(pin(initialTuner({ ...TUNING, initialSize: 500 }), 20).state, WINDOW, linearCost).state;
    const released = release(pinned);
    expect(released).toMatchObject({ changed: true, reason: 'release', from: 20, to: 50 });
    expect(released.state.pinned).toBe(false);
    expect(released.state.recent).toHaveLength(WINDOW);
    expect(observeBatch(released.state, { artifacts: 50, seconds: linearCost(50) }).reason).toBe('grow');
    expect(release(released.state)).toMatchObject({ changed: false, reason: 'not-pinned' });
  });

  test('the state is plain JSON: it survives an activity input, heartbeat details and continue-as-new', () => {
    const { state } = simulate(pin(initialTuner({ ...TUNING, initialSize: 300 }), 400).state, 4);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });

  test('history entries: one per change, with the shard when given', () => {
    const at = '2026-01-01T00:00:00.000Z';
    const tuner = initialTuner({ ...TUNING, initialSize: 500 });
    expect(batchSizeChange(pin(tuner, 20), at)).toEqual({ at, size: 20, reason: 'pin' });
    expect(batchSizeChange(observeError(tuner), at, 1)).toEqual({ at, size: 250, reason: 'error', shard: 1 });
    expect(batchSizeChange(observeBatch(tuner, { artifacts: 500, seconds: 1 }), at, 1)).toBeNull();
  });
});
