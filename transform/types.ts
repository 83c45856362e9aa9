/**
 * Shapes shared by the legacy transform, the repository writer and verification.
 * Pure types only: workflow code may import this module.
 */

import type { JsonNumber } from './json-number';

/** Numbers are doubles, or JsonNumbers where a double would change them (json-number.ts). */
export type JsonPrimitive = string | number | JsonNumber | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * Hex SHA-256 of a string's UTF-8 bytes. Passed in by the caller (db/native-hash.ts, node:crypto): the
 * transform is pure and never imports node modules itself.
 */
export type Hasher = (text: string) => string;

/** Every reason a legacy artifact can be rejected; stored in `plan_backfill_errors.reason`. */
export const REJECT_REASONS = [
  'payload_not_object',
  'series_not_array',
  'series_missing_field',
  'value_not_finite',
  'duplicate_series_key',
  'duplicate_kpi',
  'event_invalid_at',
  'kpis_invalid',
  'events_invalid',
  // `summary` present but not a JSON object (or holding a non-JSON value).
  'summary_invalid',
  // What PostgreSQL cannot store (postgres-limits.ts): one such row would fail the whole batch.
  'key_too_long',
  'text_has_nul',
  'number_out_of_range',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** One row of `plan_artifacts` as read by plandb. */
export interface LegacyArtifact {
  id: number;
  planId: string;
  version: number;
  payload: unknown;
  createdAt: Date;
  /** md5 of the payload's jsonb text as read (db/legacy-reader.ts): stored with the version, so the cut-over's delta finds changed payloads in SQL. */
  payloadMd5?: string;
}

export interface NormalizedKpi {
  name: string;
  value: number;
  unit: string | null;
}

export interface NormalizedSeries {
  item: string;
  location: string;
  period: string;
  metric: string;
  value: number;
}

export interface NormalizedEvent {
  /** Position of the event in the legacy document, from 0. */
  seq: number;
  /** ISO-8601 UTC as `Date.prototype.toISOString` writes it, with 3 more digits when there are microseconds (iso-datetime.ts). */
  at: string;
  type: string;
  actor: string | null;
  detail: JsonObject;
}

/** A plan version in repository shape: what is written, and what verify reads back. */
export interface NormalizedVersion {
  planId: string;
  version: number;
  name: string | null;
  status: string | null;
  runId: string | null;
  summary: JsonObject;
  /** Sorted by name. */
  kpis: NormalizedKpi[];
  /** Sorted by (item, location, period, metric). */
  series: NormalizedSeries[];
  /** Sorted by seq. */
  events: NormalizedEvent[];
}

export type TransformResult =
  { ok: true; version: NormalizedVersion; checksum: string } | { ok: false; reason: RejectReason; message: string; detail: JsonObject };
