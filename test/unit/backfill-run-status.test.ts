import {
  ACTIVE_RUN_STATUSES,
  canTransition,
  closureForClosedWorkflow,
  FINAL_RUN_STATUSES,
  isFinalRunStatus,
  RUN_TRANSITIONS,
  RunStatus,
  statusesLeadingTo,
} from '../../model/backfill';

const ALL = Object.keys(RUN_TRANSITIONS) as RunStatus[];

describe('backfill run status transitions', () => {
  test('every status is active or final, never both', () => {
    expect([...ACTIVE_RUN_STATUSES, ...FINAL_RUN_STATUSES].sort()).toEqual([...ALL].sort());
    for (const s of ACTIVE_RUN_STATUSES) expect(isFinalRunStatus(s)).toBe(false);
    for (const s of FINAL_RUN_STATUSES) expect(isFinalRunStatus(s)).toBe(true);
  });

  test('a final status is never left, not even to another final status', () => {
    for (const from of FINAL_RUN_STATUSES) for (const to of ALL) expect([from, to, canTransition(from, to)]).toEqual([from, to, false]);
  });

  test('running and paused alternate and may each be closed in every final status', () => {
    expect(canTransition('running', 'paused')).toBe(true);
    expect(canTransition('paused', 'running')).toBe(true);
    for (const from of ACTIVE_RUN_STATUSES) for (const to of FINAL_RUN_STATUSES) expect(canTransition(from, to)).toBe(true);
    // A status change to itself is no change (so it is not counted twice).
    for (const s of ALL) expect(canTransition(s, s)).toBe(false);
  });

  test('statusesLeadingTo lists exactly the statuses allowed to move to a target', () => {
    expect(statusesLeadingTo('cancelled').sort()).toEqual(['paused', 'running']);
    expect(statusesLeadingTo('running')).toEqual(['paused']);
    expect(statusesLeadingTo('paused')).toEqual(['running']);
  });
});

describe('closureForClosedWorkflow', () => {
  test.each([
    ['TERMINATED', 'terminated', /workflow w-1 was terminated/],
    ['CANCELLED', 'cancelled', /workflow w-1 was cancelled/],
    ['FAILED', 'failed', /workflow w-1 failed/],
    ['TIMED_OUT', 'failed', /workflow w-1 timed out/],
    ['COMPLETED', 'failed', /workflow w-1 completed without closing the run/],
    ['NOT_FOUND', 'failed', /workflow w-1 does not exist/],
  ])('%s closes the run %s with a reason naming it', (workflowStatus, status, reason) => {
    const closure = closureForClosedWorkflow('w-1', workflowStatus);
    expect(closure.status).toBe(status);
    expect(closure.reason).toMatch(reason);
  });

  test('a run with no workflow is failed, saying so', () => {
    expect(closureForClosedWorkflow(null, 'NONE')).toEqual({ status: 'failed', reason: 'the run has no workflow to own it' });
  });
});
