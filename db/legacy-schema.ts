/**
 * The legacy table, owned by the application: declared for typed reads only. It is kept out of
 * drizzle.config.ts so that our migrations never create or alter it.
 */
import { bigserial, integer, jsonb, pgTable, text, timestamp, unique } from 'drizzle-orm/pg-core';

export const planArtifacts = pgTable(
  'plan_artifacts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    planId: text('plan_id').notNull(),
    version: integer('version').notNull(),
    payload: jsonb('payload').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique().on(t.planId, t.version)],
);

/** The exact DDL of §3, for the demo seeder and the tests (the application owns the real one). */
export const LEGACY_TABLE_DDL = `CREATE TABLE IF NOT EXISTS plan_artifacts (
  id bigserial PRIMARY KEY,
  plan_id text NOT NULL,
  version integer NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (plan_id, version)
)`;
