import { migrationStateForClosedWorkflow } from '../../model/workflow-liveness';
import {
  ACTIVE_STATES,
  FINAL_STATES,
  isFinal,
  MIGRATION_EVENTS,
  MigrationEvent,
  MigrationState,
  needsCompensation,
  nextState,
  RefusedTransition,
  transition,
} from '../../model/migration-state';

// The allowed transitions, written out independently of the table: every other pair must be refused.
const ALLOWED: [MigrationState, MigrationEvent, MigrationState][] = [
  ['running', 'gate-opened', 'waiting-approval'],
  ['running', 'step-failed', 'waiting-decision'],
  ['running', 'post-check-started', 'post-check'],
  ['running', 'finished', 'completed'],
  ['running', 'window-wait', 'waiting-window'],
  ['waiting-window', 'window-opened', 'running'],
  ['waiting-approval', 'approved', 'running'],
  ['waiting-approval', 'rejected', 'rejected'],
  ['waiting-approval', 'timed-out', 'timed-out'],
  ['waiting-decision', 'retry', 'running'],
  ['waiting-decision', 'rollback', 'rolling-back'],
  ['waiting-decision', 'abort', 'aborted'],
  ['waiting-decision', 'timed-out', 'aborted'],
  ['rolling-back', 'rollback-done', 'rolled-back'],
  ['rolling-back', 'rollback-failed', 'failed'],
  ['post-check', 'step-failed', 'waiting-decision'],
  ['post-check', 'finished', 'completed'],
  // Stops that can come at any point of an active migration.
  ...ACTIVE_STATES.flatMap((s): [MigrationState, MigrationEvent, MigrationState][] => [
    [s, 'cancel', 'cancelled'],
    [s, 'fail', 'failed'],
    [s, 'terminated', 'terminated'],
    [s, 'execution-timed-out', 'timed-out'],
  ]),
];

const ALL_STATES: MigrationState[] = [...ACTIVE_STATES, ...FINAL_STATES];
const allowed = new Map(ALLOWED.map(([from, event, to]) => [`${from} ${event}`, to]));

describe('migration state machine', () => {
  test.each(ALL_STATES.flatMap((s) => MIGRATION_EVENTS.map((e) => [s, e] as const)))('%s + %s', (from, event) => {
    const expected = allowed.get(`${from} ${event}`);
    if (expected) {
      expect(transition(from, event)).toBe(expected);
      expect(nextState(from, event)).toBe(expected);
    } else {
      expect(nextState(from, event)).toBeNull();
      expect(() => transition(from, event)).toThrow(RefusedTransition);
    }
  });

  test('final states accept nothing, and say so', () => {
    for (const s of FINAL_STATES) {
      expect(isFinal(s)).toBe(true);
      expect(() => transition(s, 'retry')).toThrow(`a migration that is ${s} cannot take "retry" (it accepts: nothing, it has ended)`);
    }
    for (const s of ACTIVE_STATES) expect(isFinal(s)).toBe(false);
  });

  test('a refusal names what the state accepts', () => {
    expect(() => transition('waiting-approval', 'retry')).toThrow(
      /accepts: cancel, fail, terminated, execution-timed-out, approved, rejected, timed-out/,
    );
  });

  test('every stop but success compensates', () => {
    expect(FINAL_STATES.filter(needsCompensation)).toEqual([
      'rejected',
      'aborted',
      'rolled-back',
      'failed',
      'timed-out',
      'cancelled',
      'terminated',
    ]);
  });

  test('every state is reachable from running', () => {
    const seen = new Set<MigrationState>(['running']);
    for (let grew = true; grew;) {
      grew = false;
      for (const s of [...seen])
        for (const e of MIGRATION_EVENTS) {
          const to = nextState(s, e);
          if (to && !seen.has(to)) {
            seen.add(to);
            grew = true;
          }
        }
    }
    expect([...seen].sort()).toEqual([...ALL_STATES].sort());
  });
});

describe('a workflow Temporal closed without running its code', () => {
  test.each([
    ['TERMINATED', 'terminated'],
    ['NOT_FOUND', 'terminated'],
    ['TIMED_OUT', 'timed-out'],
    ['CANCELLED', 'cancelled'],
    ['FAILED', 'failed'],
    ['COMPLETED', 'failed'],
  ])('%s closes its migration as %s', (status, state) => {
    expect(migrationStateForClosedWorkflow(status)).toBe(state);
  });
});
