/**
 * Maintenance windows: days and hours of the week, in a named time zone, when the Plan creation API may be
 * put in maintenance. Pure: the worker computes windows in an activity (time-zone data belongs to the
 * process's ICU, which may differ between workers, so workflow code must not evaluate it) and the config
 * validates with the same parsers.
 *
 * DST follows the usual "compatible" rule (java.time, the TC39 Temporal proposal): a wall time skipped by
 * a spring-forward gap moves forward by the gap's length; a wall time repeated by a fall-back overlap
 * means its first occurrence.
 */

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** A window as configured (config/schema.ts maintenanceWindowSchema), resolved into the migration policy. */
export interface MaintenanceWindowSpec {
  /** IANA time zone, e.g. "Asia/Tokyo". */
  timeZone: string;
  /** Days on which a window opens (a window crossing midnight belongs to the day it opens). */
  days: Weekday[];
  /** "HH:MM-HH:MM" (or with seconds); an end at or before the start crosses midnight. */
  hours: string;
  /** Longest maintenance allowed inside one window, ms; null: the window's length. */
  maxLengthMs: number | null;
}

/** One occurrence of a window. */
export interface WindowOccurrence {
  opensAtMs: number;
  closesAtMs: number;
}

const DAY_MS = 86_400_000;
const HOURS_PATTERN = /^([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?$/;

/** Seconds after local midnight of "HH:MM" or "HH:MM:SS"; null when malformed. */
function secondsOfDay(text: string): number | null {
  const m = HOURS_PATTERN.exec(text.trim());
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0) : null;
}

/** The window's start and end as seconds after local midnight; `crossesMidnight` when the end is on the next day. */
export function parseWindowHours(text: string): { startSec: number; endSec: number; crossesMidnight: boolean } {
  const parts = text.split('-');
  const [start, end] = parts.length === 2 ? parts.map(secondsOfDay) : [null, null];
  // Messages name no value: config errors never echo what was typed (config/errors.ts).
  if (start === null || end === null) throw new Error('must be a range of wall times such as "01:00-05:00" (or "01:00:00-05:00:00")');
  if (start === end) throw new Error('starts and ends at the same time (a window must have a length)');
  return { startSec: start, endSec: end, crossesMidnight: end < start };
}

/**
 * Days as a list of names (["sat","sun"]) or one string of names and ranges ("mon-fri", "fri-mon",
 * "sat,sun", "*" for every day). Returns them in week order without repeats.
 */
export function parseWindowDays(spec: string | string[]): Weekday[] {
  const items = (Array.isArray(spec) ? spec : spec.split(',')).map((s) => s.trim().toLowerCase());
  const index = (name: string) => {
    const i = WEEKDAYS.indexOf(name as Weekday);
    if (i < 0) throw new Error(`has an entry that is not a day (use ${WEEKDAYS.join(', ')}, ranges like "mon-fri", or "*")`);
    return i;
  };
  const chosen = new Set<number>();
  for (const item of items) {
    if (item === '*') WEEKDAYS.forEach((_, i) => chosen.add(i));
    else if (item.includes('-')) {
      const [from, to] = item.split('-').map(index);
      // "fri-mon" wraps over the weekend.
      for (let i = from; ; i = (i + 1) % 7) {
        chosen.add(i);
        if (i === to) break;
      }
    } else chosen.add(index(item));
  }
  if (!chosen.size) throw new Error('must name at least one day');
  return [...chosen].sort((a, b) => a - b).map((i) => WEEKDAYS[i]);
}

/** Null when the runtime knows `timeZone` as an IANA zone, else why not. */
export function checkTimeZone(timeZone: string): string | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return null;
  } catch {
    return 'must be an IANA time zone known to this runtime (e.g. "Europe/Berlin", "Asia/Tokyo", "UTC")';
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall time at `instantMs` in `timeZone`, as milliseconds of a UTC date with the same fields. */
function wallClock(timeZone: string, instantMs: number): number {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(new Date(instantMs))
      .map((p) => [p.type, p.value]),
  );
  return Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
}

/** How far `timeZone` is ahead of UTC at `instantMs` (whole seconds, as the zone data has). */
function offsetAt(timeZone: string, instantMs: number): number {
  const whole = Math.floor(instantMs / 1000) * 1000;
  return wallClock(timeZone, whole) - whole;
}

/** The instant of wall time `wallMs` (fields as a UTC date) in `timeZone`, by the compatible DST rule. */
export function instantOfWallTime(timeZone: string, wallMs: number): number {
  // Zones change offset at most once a day: the offsets a day either side cover both sides of a transition.
  const before = offsetAt(timeZone, wallMs - DAY_MS);
  const after = offsetAt(timeZone, wallMs + DAY_MS);
  const valid = [wallMs - before, wallMs - after].filter((t) => offsetAt(timeZone, t) === wallMs - t);
  // Overlap: both are valid, the earlier is the first occurrence. Gap: neither is; the offset before the
  // transition puts the wall time after it, moved forward by the gap.
  return valid.length ? Math.min(...valid) : wallMs - before;
}

/**
 * The window open at `nowMs`, or else the next one to open. Windows whose close is at or before `nowMs`
 * are over; pass the close of a refused window as `nowMs` to get the one after it.
 */
export function nextWindow(spec: Pick<MaintenanceWindowSpec, 'timeZone' | 'days' | 'hours'>, nowMs: number): WindowOccurrence {
  const { startSec, endSec, crossesMidnight } = parseWindowHours(spec.hours);
  const days = new Set(spec.days.map((d) => WEEKDAYS.indexOf(d)));
  const wall = wallClock(spec.timeZone, nowMs);
  const today = wall - (((wall % DAY_MS) + DAY_MS) % DAY_MS);
  // From yesterday (its window may cross midnight into now) through a week ahead.
  for (let day = today - DAY_MS; day <= today + 8 * DAY_MS; day += DAY_MS) {
    if (!days.has(new Date(day).getUTCDay())) continue;
    const opensAtMs = instantOfWallTime(spec.timeZone, day + startSec * 1000);
    const closesAtMs = instantOfWallTime(spec.timeZone, day + (crossesMidnight ? DAY_MS : 0) + endSec * 1000);
    if (closesAtMs > nowMs) return { opensAtMs, closesAtMs };
  }
  throw new Error(`no maintenance window within a week (days ${spec.days.join(',') || 'none'})`);
}

/** Seconds of maintenance the remaining work needs at the measured rate; null without a rate. */
export function estimateMaintenanceSeconds(a: { pendingArtifacts: number; artifactsPerSecond: number | null }): number | null {
  if (a.pendingArtifacts <= 0) return 0;
  if (a.artifactsPerSecond === null || !(a.artifactsPerSecond > 0)) return null;
  return Math.ceil(a.pendingArtifacts / a.artifactsPerSecond);
}

export interface WindowFit {
  /** Seconds of maintenance available: from the opening (or now, inside the window) to the close, capped by maxLength. */
  budgetSeconds: number;
  /** Null when there is no estimate (no measured rate): the migration cannot judge and goes ahead. */
  estimateSeconds: number | null;
  fits: boolean;
}

/** Whether work of `estimateSeconds` under maintenance fits in `window` when started at max(now, opening). */
export function windowFit(window: WindowOccurrence, nowMs: number, maxLengthMs: number | null, estimateSeconds: number | null): WindowFit {
  const left = window.closesAtMs - Math.max(nowMs, window.opensAtMs);
  const budgetSeconds = Math.max(0, Math.floor(Math.min(left, maxLengthMs ?? Infinity) / 1000));
  return { budgetSeconds, estimateSeconds, fits: estimateSeconds === null || estimateSeconds <= budgetSeconds };
}

/** "2026-12-05T01:00:00+09:00 Asia/Tokyo": the opening as the operator's zone reads it. */
export function formatInZone(instantMs: number, timeZone: string): string {
  const offsetMin = Math.round(offsetAt(timeZone, instantMs) / 60_000);
  const local = new Date(Math.floor(instantMs / 1000) * 1000 + offsetMin * 60_000).toISOString().slice(0, 19);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')} ${timeZone}`;
}
