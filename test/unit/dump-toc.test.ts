import { parseToc, REPOSITORY_TABLES, selectRepositoryEntries, tocTables } from '../../db/dump-toc';

// Abridged `pg_restore --list --verbose` of a database at migration head, plus an index and a comment.
const LISTING = `;
; Archive created at 2026-11-27 11:28:47 UTC
;     TOC Entries: 67
;
; Selected TOC Entries:
;
3476; 0 0 ENCODING - ENCODING 
3479; 1262 16387 DATABASE - exp1 postgres
229; 1259 16532 TABLE public plan_artifacts postgres
228; 1259 16531 SEQUENCE public plan_artifacts_id_seq postgres
;\tdepends on: 229
215; 1259 16389 TABLE public plan_backfill_errors postgres
216; 1259 16399 TABLE public plan_backfill_runs postgres
222; 1259 16453 TABLE public plan_events postgres
223; 1259 16461 TABLE public plan_kpis postgres
225; 1259 16477 TABLE public plan_series postgres
226; 1259 16484 TABLE public plan_versions postgres
227; 1259 16495 TABLE public plans postgres
240; 1259 16600 TABLE drizzle __drizzle_migrations postgres
3484; 0 0 COMMENT public TABLE plans postgres
;\tdepends on: 227
3473; 0 16532 TABLE DATA public plan_artifacts postgres
;\tdepends on: 229
3460; 0 16399 TABLE DATA public plan_backfill_runs postgres
;\tdepends on: 216
3466; 0 16453 TABLE DATA public plan_events postgres
;\tdepends on: 222
3467; 0 16461 TABLE DATA public plan_kpis postgres
;\tdepends on: 223
3469; 0 16477 TABLE DATA public plan_series postgres
;\tdepends on: 225
3470; 0 16484 TABLE DATA public plan_versions postgres
;\tdepends on: 226
3471; 0 16495 TABLE DATA public plans postgres
;\tdepends on: 227
3285; 2606 16422 CONSTRAINT public plan_backfill_runs plan_backfill_runs_pkey postgres
;\tdepends on: 216
3293; 2606 16460 CONSTRAINT public plan_events plan_events_plan_id_version_seq_pk postgres
;\tdepends on: 222 222 222
3301; 2606 16492 CONSTRAINT public plan_versions plan_versions_plan_id_version_pk postgres
;\tdepends on: 226 226
3306; 2606 16503 CONSTRAINT public plans plans_pkey postgres
;\tdepends on: 227
3304; 1259 16543 INDEX public plans_name_idx postgres
;\tdepends on: 227
3282; 1259 16529 INDEX public plan_backfill_errors_run_idx postgres
;\tdepends on: 215 215
3311; 2606 16504 FK CONSTRAINT public plan_backfill_errors plan_backfill_errors_run_id_plan_backfill_runs_run_id_fk postgres
;\tdepends on: 216 3285 215
3312; 2606 16509 FK CONSTRAINT public plan_events plan_events_version_fk postgres
;\tdepends on: 226 222 222 3301 226
3315; 2606 16514 FK CONSTRAINT public plan_versions plan_versions_plan_id_plans_plan_id_fk postgres
;\tdepends on: 226 227 3306
`;

describe('dump TOC', () => {
  const entries = parseToc(LISTING);

  test('parses entries with their dependencies, skipping comments', () => {
    expect(entries).toHaveLength(29);
    expect(entries[0]).toEqual({ dumpId: 3476, line: '3476; 0 0 ENCODING - ENCODING ', description: 'ENCODING - ENCODING ', dependsOn: [] });
    expect(entries.find((e) => e.dumpId === 3312)?.dependsOn).toEqual([226, 222, 222, 3301, 226]);
  });

  test('the repository selection: tables, data, constraints, indexes (by dependency), FKs, comments; nothing else', () => {
    const selection = selectRepositoryEntries(entries);
    expect(selection.tables.sort()).toEqual([...REPOSITORY_TABLES].sort());
    expect(selection.missing).toEqual([]);
    expect(selection.entries.map((e) => e.dumpId)).toEqual([
      222, 223, 225, 226, 227, 3484, 3466, 3467, 3469, 3470, 3471, 3293, 3301, 3306, 3304, 3312, 3315,
    ]);
    expect(selection.entries.map((e) => e.line).join('\n')).not.toMatch(/plan_artifacts|plan_backfill|drizzle/);
  });

  test('a dump taken before the repository existed: all tables missing', () => {
    const before = parseToc(LISTING.split('\n').filter((l) => !/ plan_(events|kpis|series|versions)|plans/.test(l)).join('\n'));
    const selection = selectRepositoryEntries(before);
    expect(selection.missing).toEqual([...REPOSITORY_TABLES]);
    expect(selection.entries).toEqual([]);
  });

  test('tocTables names every table with its schema', () => {
    expect(tocTables(entries)).toEqual([
      'public.plan_artifacts',
      'public.plan_backfill_errors',
      'public.plan_backfill_runs',
      'public.plan_events',
      'public.plan_kpis',
      'public.plan_series',
      'public.plan_versions',
      'public.plans',
      'drizzle.__drizzle_migrations',
    ]);
  });
});
