import {
  initialWorkerWatch,
  WORKER_CHECK_EVERY_MS,
  WORKER_CHECK_GRACE_MS,
  workerCheckDue,
  workerMessage,
  workerNotice,
  WorkerWatch,
} from '../../cli/worker-presence';

/** Runs a sequence of answers (pollers, or null for no answer) through the watch, collecting what it says. */
function notices(answers: (number | null)[]): (string | null)[] {
  let watch: WorkerWatch = initialWorkerWatch;
  return answers.map((pollers, i) => {
    const next = workerNotice(watch, pollers, WORKER_CHECK_GRACE_MS + i * WORKER_CHECK_EVERY_MS);
    watch = next.watch;
    return next.notice;
  });
}

describe('worker presence', () => {
  test('asks only after the grace period, then every interval', () => {
    expect(workerCheckDue(initialWorkerWatch, 0)).toBe(false);
    expect(workerCheckDue(initialWorkerWatch, WORKER_CHECK_GRACE_MS - 1)).toBe(false);
    expect(workerCheckDue(initialWorkerWatch, WORKER_CHECK_GRACE_MS)).toBe(true);
    const asked = { warned: false, lastCheckMs: 2_500 };
    expect(workerCheckDue(asked, 2_500 + WORKER_CHECK_EVERY_MS - 1)).toBe(false);
    expect(workerCheckDue(asked, 2_500 + WORKER_CHECK_EVERY_MS)).toBe(true);
    // The first warning can come no later than 10 s after the follow began, even with a 1 s follow loop.
    expect(WORKER_CHECK_GRACE_MS + 1_000).toBeLessThanOrEqual(10_000);
  });

  test('warns once while nobody polls, says once when a worker shows up', () => {
    expect(notices([0, 0, 0, 1, 1])).toEqual(['missing', null, null, 'arrived', null]);
  });

  test('says nothing while workers poll, or when Temporal does not answer', () => {
    expect(notices([1, 2, null, 1])).toEqual([null, null, null, null]);
    expect(notices([null, 0, null, 0])).toEqual([null, 'missing', null, null]);
  });

  test('warns again if the workers go away after showing up', () => {
    expect(notices([0, 1, 0])).toEqual(['missing', 'arrived', 'missing']);
  });

  test('the messages name the task queue, the address and namespace, and how to start a worker', () => {
    const target = { address: 'localhost:7233', namespace: 'default', taskQueue: 'plandb', log: () => undefined };
    const missing = workerMessage('missing', target, 'plandb-dev-backfill', true);
    expect(missing).toMatch(/^no worker polls task queue plandb on localhost:7233\/default: plandb-dev-backfill will not make progress/);
    expect(missing).toMatch(/`plandb worker`/);
    expect(missing).toMatch(/`plandb dev`/);
    expect(missing).toMatch(/still waiting$/);
    expect(workerMessage('missing', target, 'x', false)).not.toMatch(/still waiting/);
    expect(workerMessage('arrived', target, 'plandb-dev-backfill', true)).toBe(
      'a worker now polls task queue plandb on localhost:7233/default; plandb-dev-backfill can proceed',
    );
  });
});
