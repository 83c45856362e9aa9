/**
 * Approval gates, shared by environmentMigration and promotion: the approve/reject signals and
 * updates, who may decide, and the bounded record of what was sent. A refused signal cannot be
 * refused to its sender, so it is counted and only the first MAX_REFUSED_KEPT are kept, with their
 * text escaped and cut: hostile or careless senders cannot grow the history or break the evidence.
 */
import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import { type ApprovalRecord, type GateDecision, MAX_REFUSED_KEPT } from '../model/migration';
import { excerpt } from '../model/text';
import { approveSignal, approveUpdate, checkGateDecision, rejectSignal, rejectUpdate } from './definitions';

export interface Gates {
  /** The gate waiting for a decision, or null. */
  readonly openGate: string | null;
  /** Accepted decisions, timeouts and the first refused signals, in order. */
  readonly approvals: ApprovalRecord[];
  readonly refusedSignals: number;
  /** Opens `name` until a listed approver decides (the record) or `timeoutMs` passes (null). */
  wait(name: string, approvers: string[], timeoutMs: number): Promise<ApprovalRecord | null>;
}

/**
 * Registers the gate handlers. `onRecord` sees every record kept in `approvals` (the migration writes
 * it as an evidence row); it is called synchronously from handlers, so it must only queue.
 */
export function installGates(onRecord: (r: ApprovalRecord) => void = () => undefined): Gates {
  const approvals: ApprovalRecord[] = [];
  let openGate: string | null = null;
  let approvers: string[] = [];
  let refusedSignals = 0;
  let outcome: ApprovalRecord | null = null;
  const keep = (r: ApprovalRecord) => {
    approvals.push(r);
    onRecord(r);
  };

  const decide = (d: GateDecision, decision: 'approved' | 'rejected'): ApprovalRecord => {
    const refusal = checkGateDecision(d, openGate, approvers);
    const at = new Date().toISOString();
    if (refusal) {
      refusedSignals++;
      const raw = (typeof d === 'object' && d !== null ? d : {}) as Partial<Record<keyof GateDecision, unknown>>;
      const record: ApprovalRecord = {
        gate: excerpt(raw.gate ?? '', 64),
        approver: excerpt(raw.approver ?? '', 64),
        decision: 'refused',
        at,
        note: excerpt(refusal, 200),
      };
      if (raw.comment !== undefined) record.comment = excerpt(raw.comment, 200);
      if (refusedSignals <= MAX_REFUSED_KEPT) keep(record);
      return record;
    }
    const record: ApprovalRecord = { gate: d.gate, approver: d.approver, decision, at };
    if (d.comment !== undefined) record.comment = d.comment;
    keep(record);
    outcome = record;
    return record;
  };
  // Updates are refused before they enter history, with a non-retryable failure naming the problem.
  const validate = (d: GateDecision) => {
    const refusal = checkGateDecision(d, openGate, approvers);
    if (refusal) throw ApplicationFailure.nonRetryable(refusal, 'InvalidGateDecision');
  };
  setHandler(approveSignal, (d) => void decide(d, 'approved'));
  setHandler(rejectSignal, (d) => void decide(d, 'rejected'));
  setHandler(approveUpdate, (d) => decide(d, 'approved'), { validator: validate });
  setHandler(rejectUpdate, (d) => decide(d, 'rejected'), { validator: validate });

  return {
    get openGate() {
      return openGate;
    },
    approvals,
    get refusedSignals() {
      return refusedSignals;
    },
    async wait(name, allowed, timeoutMs) {
      openGate = name;
      approvers = allowed;
      outcome = null;
      try {
        const decided = await condition(() => outcome !== null, timeoutMs);
        if (decided && outcome) return outcome;
        keep({ gate: name, approver: 'plandb', decision: 'timed-out', at: new Date().toISOString() });
        return null;
      } finally {
        openGate = null;
      }
    },
  };
}
