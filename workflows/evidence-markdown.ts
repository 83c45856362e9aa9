/** Evidence as Markdown: what an operator attaches to the runbook (and, short, the UI's current details). Pure. */
import { describePrediction, formatSeconds, type EtaPrediction } from '../model/backfill-eta';
import type { MigrationEvidence, StepRecord } from '../model/migration';

const code = (v: unknown) => `\`${String(v)}\``;

function duration(s: StepRecord): string {
  if (!s.finishedAt) return '…';
  const ms = Date.parse(s.finishedAt) - Date.parse(s.startedAt);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** One line per notable output field, so the Markdown reads without opening the JSON. */
function highlights(s: StepRecord): string {
  const o = (s.output ?? {}) as Record<string, unknown>;
  switch (s.name) {
    case 'backup':
      return o.skipped
        ? `skipped: ${String(o.reason)}`
        : `${code(o.location)} sha256 ${code(o.sha256)} (${String(o.bytes)} bytes, verified ${String(o.verified)})${o.s3Uri ? `, uploaded to ${code(o.s3Uri)}` : ''}`;
    case 'migrate':
      return `head ${code(o.head)}; applied: ${(o.applied as string[] | undefined)?.join(', ') || 'none'}`;
    case 'backfill':
    case 'sample-dry-run':
      return `run ${code(o.runId)} ${String(o.mode)}: ${String(o.artifactsRead)} artifacts, ${String(o.versionsWritten)} versions written, ${String(o.versionsSkipped)} skipped, ${String(o.versionsRejected)} rejected, ${String(o.versionsConflicted)} conflicts; ${String(o.seriesWritten)} series, ${String(o.kpisWritten)} KPIs, ${String(o.eventsWritten)} events`;
    case 'pre-delta':
    case 'delta':
      return `run ${code(o.runId)}: ${String(o.newArtifacts)} new artifacts after id ${String(o.afterId)} (${String(o.newVersions)} versions written), ${String(o.changedVersions)} versions changed in place rewritten, ${String(o.errorsCount)} errors`;
    case 'verify':
    case 'verify-pre-delta':
    case 'verify-delta':
      return `passed ${String(o.passed)}: ${String(o.versionsChecked)} versions checked, ${String(o.mismatches)} mismatches, ${String(o.missingInRepository)} missing, ${String(o.extraInRepository)} extra`;
    case 'record-capacity':
      return `plan_series ${String(o.planSeriesRows)} rows; recommended PLANS_DB_MAX_ROWS ${String(o.recommendedMaxRows)}`;
    case 'preflight':
      return o.eta ? describePrediction(o.eta as EtaPrediction) : '';
    case 'maintenance-window':
      return windowLine(o);
    case 'legacy-cutover':
      return `legacy-usage reading ${String(o.snapshotId)} at ${String(o.takenAt)} (plandb legacy-usage --since cutover)`;
    case 'maintenance-on':
    case 'maintenance-off': {
      const window = o.window as { on: string; off: string; seconds: number } | undefined;
      return `${String(o.mode)}: enabled=${String(o.enabled)}${window ? `; maintenance window ${window.on} → ${window.off} (${window.seconds.toFixed(1)} s)` : ''}`;
    }
    default:
      return '';
  }
}

/** The window a `maintenance-window` step planned, and whether the work left fits in it. */
function windowLine(o: Record<string, unknown>): string {
  if (!o.opensAtLocal) return '';
  const estimate =
    o.estimateSeconds === null ? 'no measured rate to estimate with' : `needs ~${formatSeconds(o.estimateSeconds as number)}`;
  return `window ${String(o.opensAtLocal)} → ${String(o.closesAtLocal)}; ${String(o.pendingArtifacts)} artifacts left, ${estimate}, ${formatSeconds(o.budgetSeconds as number)} available`;
}

/** The backfill's predicted ETA from the preflight (for the gate's details and notifications); null when none was made. */
export function backfillEtaOf(e: Pick<MigrationEvidence, 'steps'>): EtaPrediction | null {
  const preflight = e.steps.find((s) => s.name === 'preflight' && s.status === 'completed');
  return ((preflight?.output as { eta?: EtaPrediction | null } | null)?.eta ?? null) || null;
}

/** "waiting for window (opens at 2026-12-05T01:00:00+09:00 Asia/Tokyo)" while the migration waits for one. */
export function windowWaitLine(e: Pick<MigrationEvidence, 'status' | 'steps'>): string {
  const last = e.steps.at(-1);
  if (e.status !== 'waiting-window' || last?.name !== 'maintenance-window') return '';
  const o = (last.output ?? {}) as { opensAtLocal?: string; closesAtLocal?: string };
  return `waiting for window (opens at ${o.opensAtLocal ?? '…'}, closes at ${o.closesAtLocal ?? '…'})`;
}

export function renderEvidenceMarkdown(e: MigrationEvidence): string {
  const eta = backfillEtaOf(e);
  const lines = [
    `# plandb migration evidence — ${e.environment}`,
    '',
    `- Workflow: ${code(e.workflowId)}`,
    `- Status: **${e.status}**${e.openGate ? ` (gate ${code(e.openGate)} open)` : ''}`,
    `- Started: ${e.startedAt}${e.finishedAt ? ` · finished: ${e.finishedAt}` : ''}`,
    ...(eta ? [`- Backfill: ${describePrediction(eta)}`] : []),
    '',
    '## Steps',
    '',
    '| # | step | status | attempt | started | took | evidence |',
    '|---|---|---|---|---|---|---|',
    ...e.steps.map(
      (s, i) =>
        `| ${i + 1} | ${s.name} | ${s.status} | ${s.attempt} | ${s.startedAt} | ${duration(s)} | ${(s.error ? `error: ${s.error}` : highlights(s)).replace(/\|/g, '\\|')} |`,
    ),
  ];
  if (e.approvals.length) {
    lines.push('', '## Approvals', '', '| gate | decision | by | at | comment |', '|---|---|---|---|---|');
    for (const a of e.approvals)
      lines.push(`| ${a.gate} | ${a.decision} | ${a.approver} | ${a.at} | ${(a.comment ?? a.note ?? '').replace(/\|/g, '\\|')} |`);
  }
  if (e.decisions.length) {
    lines.push('', '## Decisions after failures', '', '| step | action | by | at | comment |', '|---|---|---|---|---|');
    for (const d of e.decisions) lines.push(`| ${d.step} | ${d.action} | ${d.by ?? '?'} | ${d.at} | ${d.comment ?? ''} |`);
  }
  if (e.refusedSignals > e.approvals.filter((a) => a.decision === 'refused').length)
    lines.push('', `${e.refusedSignals} approve/reject signals were refused in all; the first ones are listed above.`);
  if (e.compensations.length) {
    lines.push('', '## Compensations (undone on stop)', '', '| undo | status | at | error |', '|---|---|---|---|');
    for (const c of e.compensations) lines.push(`| ${c.name} | ${c.status} | ${c.at} | ${(c.error ?? '').replace(/\|/g, '\\|')} |`);
  }
  if (e.notifications?.length) {
    lines.push('', '## Notifications', '', '| event | target | status | attempts | HTTP | at | error |', '|---|---|---|---|---|---|---|');
    for (const n of e.notifications)
      lines.push(
        `| ${n.event} | #${n.target} ${n.kind} (${n.urlEnv}) | ${n.status} | ${n.attempts} | ${n.httpStatus ?? '-'} | ${n.at} | ${(n.error ?? '').replace(/\|/g, '\\|')} |`,
      );
  }
  if (e.stopReason) lines.push('', `**How it ended:** ${e.stopReason}`);
  if (e.policy) lines.push('', '## Policy', '', '```json', JSON.stringify(e.policy, null, 2), '```');
  return lines.join('\n');
}

/** How to open the gate from the UI: an input that pastes as valid JSON, and who may send it. */
export function gateHint(gate: string, approvers: string[]): string {
  const input = JSON.stringify({ gate, approver: approvers[0] ?? 'your-name', comment: '' });
  return [
    `**Waiting for approval at gate \`${gate}\`.** ${approvers.length ? `Allowed approvers: ${approvers.join(', ')}.` : 'Anyone may approve.'}`,
    '',
    'Send an update (or signal) named `approve` (or `reject`) with this input:',
    '',
    '```json',
    input,
    '```',
  ].join('\n');
}

/**
 * The refused approve/reject signals: how many, and the last one kept (a refused signal changes nothing,
 * so an operator who sent one with a typo otherwise waits at the gate not knowing why).
 */
export function refusedSignalsLine(e: Pick<MigrationEvidence, 'refusedSignals' | 'approvals'>): string {
  if (!e.refusedSignals) return '';
  const kept = e.approvals.filter((a) => a.decision === 'refused');
  const last = kept.at(-1);
  const count = `**${e.refusedSignals} refused approve/reject signal${e.refusedSignals === 1 ? '' : 's'}.**`;
  if (!last) return count;
  // Gate and approver are what the sender typed (excerpted): backticks would break the code spans.
  const plain = (v: string) => v.replace(/`/g, "'");
  const which = kept.length < e.refusedSignals ? `Last kept (the first ${kept.length} are kept)` : 'Last';
  return `${count} ${which}: gate \`${plain(last.gate)}\` by \`${plain(last.approver)}\` at ${last.at} — ${last.note ?? 'refused'}`;
}

/** The short form for the Temporal UI's current details. */
export function renderEvidenceSummary(e: MigrationEvidence): string {
  const last = e.steps.at(-1);
  const eta = backfillEtaOf(e);
  const waiting = windowWaitLine(e);
  return [
    `## plandb migration — ${e.environment}: ${e.status}`,
    '',
    waiting ? `**${waiting}**` : '',
    e.openGate ? gateHint(e.openGate, e.policy?.approval.approvers ?? []) : '',
    e.openGate && eta ? `Backfill: ${describePrediction(eta)}` : '',
    e.status === 'waiting-decision' && last
      ? `**Step ${last.name} failed:** ${last.error ?? ''}\n\nSend the signal \`decide\` with \`{"action":"retry","by":"your-name"}\` (or \`"rollback"\`, \`"abort"\`)`
      : '',
    e.stopReason && e.status !== 'completed' ? `**Stopped (${e.status}):** ${e.stopReason}` : '',
    refusedSignalsLine(e),
    '',
    ...e.steps.map(
      (s) =>
        `- ${s.status === 'completed' ? '✅' : s.status === 'failed' ? '❌' : s.status === 'skipped' ? '⏭' : '⏳'} ${s.name}${s.attempt > 1 ? ` (attempt ${s.attempt})` : ''}`,
    ),
  ]
    .filter((l, i, all) => l !== '' || all[i - 1] !== '')
    .join('\n');
}
