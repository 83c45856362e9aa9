/**
 * plandb's Temporal Schedules (SPEC §7): capacity trims and rollback drills per environment. Ids,
 * cron checks, the options a schedule is created with, and how it is shown; the few calls that reach
 * Temporal take the client as an argument.
 */
import {
  Client,
  DAYS_OF_WEEK,
  MONTHS,
  ScheduleAlreadyRunning,
  ScheduleOptions,
  ScheduleOverlapPolicy,
  type CalendarSpecDescription,
  type Range,
  type ScheduleSpecDescription,
  type ScheduleSummary,
} from '@temporalio/client';
import { PLAN_DB_ENVIRONMENT } from '../workflows/search-attributes';
import { workflowIdFor } from '../model/ids';

/** What each kind of schedule starts. */
export const SCHEDULED_WORKFLOWS = {
  trim: 'capacityTrim',
  drill: 'rollbackDrill',
  'legacy-usage': 'legacyUsage',
} as const;
export type ScheduleKind = keyof typeof SCHEDULED_WORKFLOWS;

/** `plandb-<env>-trim-schedule`, `plandb-<env>-drill-schedule`: one schedule per environment and kind. */
export function scheduleIdFor(environment: string, kind: ScheduleKind): string {
  return `${workflowIdFor(environment, kind)}-schedule`;
}

const PLANDB_SCHEDULE_ID = /^plandb-[a-z][a-z0-9-]{0,30}-(trim|drill|legacy-usage)-schedule$/;

/** Null when `id` is one of plandb's schedule ids, else why not. */
export function checkScheduleId(id: string): string | null {
  return PLANDB_SCHEDULE_ID.test(id)
    ? null
    : `expected a plandb schedule id such as plandb-dev-trim-schedule (see \`plandb schedule list\`), got "${id}"`;
}

interface CronField {
  name: string;
  min: number;
  max: number;
  /** Names accepted for min, min+1, … (JAN-DEC, SUN-SAT). */
  names?: readonly string[];
}

const CRON_FIELDS: CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS.map((m) => m.slice(0, 3)) },
  { name: 'day of week', min: 0, max: 6, names: DAYS_OF_WEEK.map((d) => d.slice(0, 3)) },
];

const CRON_ITEM = /^(?:\*|([0-9]+|[a-z]{3})(?:-([0-9]+|[a-z]{3}))?)(?:\/([0-9]+))?$/i;

function cronValue(text: string, f: CronField): number | null {
  const n = /^[0-9]+$/.test(text) ? Number(text) : f.names ? f.names.indexOf(text.toUpperCase()) + f.min : NaN;
  return n >= f.min && n <= f.max ? n : null;
}

function checkCronField(text: string, f: CronField): string | null {
  for (const item of text.split(',')) {
    const m = CRON_ITEM.exec(item);
    if (!m) return `"${item}" is not a value, a range a-b, * or a step /n`;
    const [, startText, endText, stepText] = m;
    const start = startText === undefined ? f.min : cronValue(startText, f);
    const end = endText === undefined ? start : cronValue(endText, f);
    if (start === null || end === null)
      return `"${item}" is outside ${f.min}-${f.max}${f.names ? ` (or ${f.names[0]}-${f.names.at(-1)})` : ''}`;
    if (end < start) return `"${item}" is a range that ends before it starts`;
    if (stepText !== undefined && Number(stepText) < 1) return `"${item}" has a step below 1`;
  }
  return null;
}

/** Null when `expr` is a 5-field cron expression (minute hour day-of-month month day-of-week), else why not. */
export function checkCron(expr: string): string | null {
  const fields = expr.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5)
    return `a cron expression has 5 fields (minute hour day-of-month month day-of-week), e.g. "0 3 * * *"; got ${fields.length} in "${expr}"`;
  for (const [i, field] of fields.entries()) {
    const problem = checkCronField(field, CRON_FIELDS[i]);
    if (problem) return `cron ${CRON_FIELDS[i].name}: ${problem}`;
  }
  return null;
}

export interface PlandbSchedule {
  kind: ScheduleKind;
  environment: string;
  /** 5-field cron, UTC. */
  cron: string;
  taskQueue: string;
  /** The workflow's one object argument. */
  input: Record<string, unknown>;
}

/** The schedule's full definition: the workflow it starts, its id prefix and search attribute, overlap SKIP. */
export function scheduleOptions(s: PlandbSchedule): ScheduleOptions {
  return {
    scheduleId: scheduleIdFor(s.environment, s.kind),
    spec: { cronExpressions: [s.cron] },
    action: {
      type: 'startWorkflow',
      workflowType: SCHEDULED_WORKFLOWS[s.kind],
      // Temporal appends the scheduled time: plandb-<env>-trim-2026-01-01T03:00:00Z.
      workflowId: workflowIdFor(s.environment, s.kind),
      taskQueue: s.taskQueue,
      args: [s.input],
      typedSearchAttributes: [{ key: PLAN_DB_ENVIRONMENT, value: s.environment }],
    },
    // A trim or drill still running when the next is due: skip the next one.
    policies: { overlap: ScheduleOverlapPolicy.SKIP },
  };
}

/** Creates the schedule, or replaces the definition of the existing one (a paused schedule stays paused). */
export async function upsertSchedule(client: Client, options: ScheduleOptions): Promise<'created' | 'updated'> {
  try {
    await client.schedule.create(options);
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(options.scheduleId).update((previous) => ({
    spec: options.spec,
    action: options.action,
    policies: options.policies,
    state: previous.state,
  }));
  return 'updated';
}

function rangesText(ranges: Range<number>[] | undefined, min: number, max: number): string {
  if (!ranges?.length) return '*';
  return ranges
    .map(({ start, end, step }) => {
      const span = start === min && end === max ? '*' : start === end ? `${start}` : `${start}-${end}`;
      return step > 1 ? `${span}/${step}` : span;
    })
    .join(',');
}

const asNumbers = <T extends string>(ranges: Range<T>[] | undefined, names: readonly T[], offset: number): Range<number>[] | undefined =>
  ranges?.map((r) => ({ start: names.indexOf(r.start) + offset, end: names.indexOf(r.end) + offset, step: r.step }));

/** A calendar as the cron expression it came from (Temporal stores cron expressions as calendars). */
export function calendarCron(c: CalendarSpecDescription): string {
  return [
    rangesText(c.minute, 0, 59),
    rangesText(c.hour, 0, 23),
    rangesText(c.dayOfMonth, 1, 31),
    rangesText(asNumbers(c.month, MONTHS, 1), 1, 12),
    rangesText(asNumbers(c.dayOfWeek, DAYS_OF_WEEK, 0), 0, 6),
  ].join(' ');
}

export function specText(spec: ScheduleSpecDescription | undefined): string {
  const parts = [...(spec?.calendars ?? []).map(calendarCron), ...(spec?.intervals ?? []).map((i) => `every ${i.every / 1000}s`)];
  return `${parts.join('; ') || '(no times)'} ${spec?.timezone || 'UTC'}`;
}

export interface ScheduleRow {
  scheduleId: string;
  workflowType: string | null;
  spec: string;
  nextRun: string | null;
  paused: boolean;
}

export function scheduleRow(s: ScheduleSummary): ScheduleRow {
  return {
    scheduleId: s.scheduleId,
    workflowType: s.action?.workflowType ?? null,
    spec: specText(s.spec),
    nextRun: s.info.nextActionTimes[0]?.toISOString() ?? null,
    paused: s.state.paused,
  };
}

/** plandb's schedules, by id (the list is eventually consistent: a new schedule may take a moment to show). */
export async function listPlandbSchedules(client: Client): Promise<ScheduleRow[]> {
  const rows: ScheduleRow[] = [];
  for await (const s of client.schedule.list()) if (checkScheduleId(s.scheduleId) === null) rows.push(scheduleRow(s));
  return rows.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}
