import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` writes a new SQL migration into db/migrations from db/schema.ts.
export default defineConfig({
  dialect: 'postgresql',
  out: './db/migrations',
  // Only our tables: plan_artifacts (db/legacy-schema.ts) belongs to the application.
  schema: './db/schema.ts',
});
