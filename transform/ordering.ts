/**
 * The order of rows inside a normalized version. Plain UTF-16 code-unit comparison, never
 * localeCompare or a database collation: the order, and so the checksum, must not depend on locale.
 */
import type { NormalizedKpi, NormalizedSeries } from './types';

export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareKpis(a: Pick<NormalizedKpi, 'name'>, b: Pick<NormalizedKpi, 'name'>): number {
  return compareCodeUnits(a.name, b.name);
}

type SeriesKey = Pick<NormalizedSeries, 'item' | 'location' | 'period' | 'metric'>;

/** By (item, location, period, metric). */
export function compareSeries(a: SeriesKey, b: SeriesKey): number {
  return (
    compareCodeUnits(a.item, b.item) ||
    compareCodeUnits(a.location, b.location) ||
    compareCodeUnits(a.period, b.period) ||
    compareCodeUnits(a.metric, b.metric)
  );
}
