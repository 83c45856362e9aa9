/** How `plandb backfill` shows live progress: a bar on a terminal, JSON lines otherwise. */
import { Presets, SingleBar } from 'cli-progress';
import type { BackfillProgress } from '../workflows/definitions';

export interface ProgressDisplay {
  update(p: BackfillProgress): void;
  stop(): void;
}

/** Identifies a change: the query recomputes rate and ETA on every call, so they do not count. */
export function progressKey(p: BackfillProgress): string {
  return JSON.stringify({ ...p, artifactsPerSecond: null, rowsPerSecond: null, etaSeconds: null });
}

export function formatEta(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 60) return `${seconds}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${pad(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h${pad(Math.floor((seconds % 3600) / 60))}m`;
}

/** The bar's custom tokens. A pause takes effect after the batch in flight: until then it shows as pausing. */
export function barPayload(p: BackfillProgress): { rowsPerSecond: number; etaText: string; status: string } {
  const status = p.paused && p.status === 'running' ? 'pausing' : p.throttled ? `throttled (${p.throttled.reason})` : p.status;
  // The total grows with each catch-up pass: the bar says which pass it is in.
  const pass = p.catchUp && p.catchUp.pass > 0 && !p.catchUp.ended ? `, catch-up pass ${p.catchUp.pass}` : '';
  return { rowsPerSecond: p.rowsPerSecond, etaText: formatEta(p.etaSeconds), status: `${status}${pass}` };
}

/** One JSON line per change of the progress. */
export function jsonLinesDisplay(write: (line: string) => void): ProgressDisplay {
  let last = '';
  return {
    update(p) {
      const key = progressKey(p);
      if (key === last) return;
      last = key;
      write(JSON.stringify(p));
    },
    stop() {},
  };
}

export function barDisplay(stream: NodeJS.WriteStream): ProgressDisplay {
  const bar = new SingleBar(
    {
      stream,
      hideCursor: true,
      format: '{bar} {percentage}% | {value}/{total} artifacts | {rowsPerSecond} rows/s | ETA {etaText} | {status}',
    },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      // The total is known once the run has started; the bar starts with the first progress.
      if (!started) {
        bar.start(p.artifactsTotal, p.artifactsRead, barPayload(p));
        started = true;
        return;
      }
      bar.setTotal(p.artifactsTotal);
      bar.update(p.artifactsRead, barPayload(p));
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
