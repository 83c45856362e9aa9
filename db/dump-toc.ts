/**
 * The table of contents of a custom-format dump, as `pg_restore --list --verbose` prints it, and the
 * part of it that is the PlanRepository (so a rollback restores those tables and nothing else).
 */

export interface TocEntry {
  dumpId: number;
  /** The line as printed: `--use-list` reads it back. */
  line: string;
  /** Object type, schema and name part of the line, e.g. "TABLE public plans postgres". */
  description: string;
  dependsOn: number[];
}

/** The tables our migrations create for the repository; children reference plan_versions. */
export const REPOSITORY_TABLES = ['plans', 'plan_versions', 'plan_kpis', 'plan_series', 'plan_events'] as const;

const ENTRY = /^(\d+); \d+ \d+ (.*)$/;
const DEPENDS = /^;\s*depends on:((?:\s+\d+)*)\s*$/;

export function parseToc(listing: string): TocEntry[] {
  const entries: TocEntry[] = [];
  for (const line of listing.split('\n')) {
    const entry = ENTRY.exec(line);
    if (entry) {
      entries.push({ dumpId: Number(entry[1]), line, description: entry[2], dependsOn: [] });
      continue;
    }
    const depends = DEPENDS.exec(line);
    const last = entries.at(-1);
    if (depends && last) last.dependsOn = depends[1].trim().split(/\s+/).map(Number);
  }
  return entries;
}

/** `schema.table` of every table definition among the entries. */
export function tocTables(entries: TocEntry[]): string[] {
  return entries.flatMap((e) => {
    // "TABLE DATA public plans ..." is the table's rows, not its definition.
    const table = /^TABLE (?!DATA )(\S+) (\S+) /.exec(e.description);
    return table ? [`${table[1]}.${table[2]}`] : [];
  });
}

export interface RepositorySelection {
  tables: string[];
  missing: string[];
  entries: TocEntry[];
}

/**
 * The repository tables' own entries and every entry that depends on one of them: their data,
 * constraints, indexes, foreign keys, comments and grants (an index's line names only the index, so
 * dependencies, not names, decide).
 */
export function selectRepositoryEntries(entries: TocEntry[], schema = 'public'): RepositorySelection {
  const tableIds = new Map<number, string>();
  for (const entry of entries) {
    const table = REPOSITORY_TABLES.find((name) => entry.description.startsWith(`TABLE ${schema} ${name} `));
    if (table) tableIds.set(entry.dumpId, table);
  }
  const tables = [...tableIds.values()];
  return {
    tables,
    missing: REPOSITORY_TABLES.filter((name) => !tables.includes(name)),
    entries: entries.filter((e) => tableIds.has(e.dumpId) || e.dependsOn.some((id) => tableIds.has(id))),
  };
}
