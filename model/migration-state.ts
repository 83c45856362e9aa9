/**
 * The lifecycle of an environment migration (and of a promotion or a rollback), as an explicit state
 * machine: every status change goes through `transition`, which refuses what the table does not allow.
 * Pure: workflows, activities, the reconciler and the CLI share it.
 *
 * A stop other than `completed` runs the migration's compensations (maintenance off, child backfill
 * closed) before its final status is recorded; `terminated` and `timed-out` by Temporal run no code,
 * so the reconciler records them and lifts a maintenance flag whose owner no longer runs.
 */

export const ACTIVE_STATES = ['running', 'waiting-approval', 'waiting-decision', 'waiting-window', 'rolling-back', 'post-check'] as const;
export const FINAL_STATES = ['completed', 'rejected', 'aborted', 'rolled-back', 'failed', 'timed-out', 'cancelled', 'terminated'] as const;

export type ActiveState = (typeof ACTIVE_STATES)[number];
export type FinalState = (typeof FINAL_STATES)[number];
export type MigrationState = ActiveState | FinalState;

export const MIGRATION_EVENTS = [
  /** A gate opened and waits for a person. */
  'gate-opened',
  'approved',
  'rejected',
  /** A gate, or the decision after a failure, waited past its timeout. */
  'timed-out',
  /** A step failed: the migration waits for `decide`. */
  'step-failed',
  'retry',
  'rollback',
  'abort',
  'rollback-done',
  'rollback-failed',
  'post-check-started',
  /** Maintenance must wait for the environment's maintenance window to open (durable timer). */
  'window-wait',
  'window-opened',
  /** Every step is done. */
  'finished',
  /** Cancellation requested (Web UI, `temporal workflow cancel`, a cancelled parent). */
  'cancel',
  /** An error the migration cannot decide about (bad policy, a failure outside any step). */
  'fail',
  /** Seen by the reconciler: Temporal ended the workflow without running its code. */
  'terminated',
  'execution-timed-out',
] as const;
export type MigrationEvent = (typeof MIGRATION_EVENTS)[number];

/** Transitions every active state allows: stops that can happen at any point. */
const ANY_ACTIVE: Partial<Record<MigrationEvent, MigrationState>> = {
  cancel: 'cancelled',
  fail: 'failed',
  terminated: 'terminated',
  'execution-timed-out': 'timed-out',
};

/** From each state, the events it accepts and where they lead. Final states accept nothing. */
export const TRANSITIONS: Readonly<Record<MigrationState, Readonly<Partial<Record<MigrationEvent, MigrationState>>>>> = {
  running: {
    ...ANY_ACTIVE,
    'gate-opened': 'waiting-approval',
    'step-failed': 'waiting-decision',
    'post-check-started': 'post-check',
    'window-wait': 'waiting-window',
    finished: 'completed',
  },
  'waiting-window': { ...ANY_ACTIVE, 'window-opened': 'running' },
  'waiting-approval': { ...ANY_ACTIVE, approved: 'running', rejected: 'rejected', 'timed-out': 'timed-out' },
  'waiting-decision': { ...ANY_ACTIVE, retry: 'running', rollback: 'rolling-back', abort: 'aborted', 'timed-out': 'aborted' },
  'rolling-back': { ...ANY_ACTIVE, 'rollback-done': 'rolled-back', 'rollback-failed': 'failed' },
  'post-check': { ...ANY_ACTIVE, 'step-failed': 'waiting-decision', finished: 'completed' },
  completed: {},
  rejected: {},
  aborted: {},
  'rolled-back': {},
  failed: {},
  'timed-out': {},
  cancelled: {},
  terminated: {},
};

export function isFinal(state: MigrationState): state is FinalState {
  return (FINAL_STATES as readonly string[]).includes(state);
}

export class RefusedTransition extends Error {
  constructor(
    readonly from: MigrationState,
    readonly event: MigrationEvent,
  ) {
    super(
      `a migration that is ${from} cannot take "${event}" (it accepts: ${Object.keys(TRANSITIONS[from]).join(', ') || 'nothing, it has ended'})`,
    );
    this.name = 'RefusedTransition';
  }
}

/** Where `event` leads from `from`, or null when the table refuses it. */
export function nextState(from: MigrationState, event: MigrationEvent): MigrationState | null {
  return TRANSITIONS[from][event] ?? null;
}

/** The state after `event`; throws RefusedTransition when it is not allowed. */
export function transition(from: MigrationState, event: MigrationEvent): MigrationState {
  const to = nextState(from, event);
  if (to === null) throw new RefusedTransition(from, event);
  return to;
}

/** Stops that lift maintenance and close child runs (every final state but success runs compensations). */
export function needsCompensation(state: FinalState): boolean {
  return state !== 'completed';
}
