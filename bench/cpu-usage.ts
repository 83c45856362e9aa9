/**
 * CPU seconds spent during a timed phase, from /proc (Linux; null elsewhere): by the PostgreSQL server
 * (postmaster, its live children and the children it reaped), by the worker children (summed), by this process,
 * and by the whole machine. On a shared 2-core machine these tell whether a phase was bound by
 * PostgreSQL, by the worker, or by other load.
 */
import fs from 'node:fs';
import pg from 'pg';

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux architecture Node supports

/** utime, stime, cutime, cstime (in seconds) and ppid of one process, or null when it is gone. */
function procStat(pid: number): { ppid: number; self: number; reaped: number } | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces), from field 3 (state).
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const n = (i: number) => Number(f[i - 3]);
    return { ppid: n(4), self: (n(14) + n(15)) / TICKS_PER_SECOND, reaped: (n(16) + n(17)) / TICKS_PER_SECOND };
  } catch {
    return null;
  }
}

/** CPU seconds of a process and its threads (not its children). */
export function processCpuSeconds(pid: number): number | null {
  return procStat(pid)?.self ?? null;
}

/** CPU seconds of a server process and all its children, dead (reaped) or alive. */
function treeCpuSeconds(rootPid: number): number | null {
  const root = procStat(rootPid);
  if (!root) return null;
  let total = root.self + root.reaped;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = procStat(Number(entry));
    if (child && child.ppid === rootPid) total += child.self + child.reaped;
  }
  return total;
}

/** Busy CPU seconds of the whole machine (all cores, everything but idle and iowait). */
export function machineBusySeconds(): number | null {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = cpu;
    return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/**
 * The postmaster's pid when the server runs on this machine and we may read its /proc entries
 * (the embedded server); null for a remote BENCH_DATABASE_URL.
 */
export async function localPostmasterPid(pool: pg.Pool): Promise<number | null> {
  const res = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const backend = procStat(res.rows[0].pid);
  if (!backend) return null;
  try {
    const comm = fs.readFileSync(`/proc/${backend.ppid}/comm`, 'utf8').trim();
    return comm === 'postgres' ? backend.ppid : null;
  } catch {
    return null;
  }
}

export interface CpuSeconds {
  postgres: number | null;
  worker: number | null;
  bench: number;
  machineBusy: number | null;
}

export interface CpuMeter {
  /** CPU seconds since the meter was started. */
  stop(): CpuSeconds;
}

const round = (n: number | null): number | null => (n === null ? null : Number(n.toFixed(2)));
const diff = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a - b);

/** Sums the worker processes' CPU: null without workers, or when one of them cannot be read. */
function workersCpuSeconds(workerPids: number[]): number | null {
  let total = 0;
  for (const pid of workerPids) {
    const seconds = processCpuSeconds(pid);
    if (seconds === null) return null;
    total += seconds;
  }
  return workerPids.length ? total : null;
}

export function startCpuMeter(postmasterPid: number | null, workerPids: number[] = []): CpuMeter {
  const pgAt = () => (postmasterPid === null ? null : treeCpuSeconds(postmasterPid));
  const workerAt = () => workersCpuSeconds(workerPids);
  const benchAt = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const start = { postgres: pgAt(), worker: workerAt(), bench: benchAt(), machineBusy: machineBusySeconds() };
  return {
    stop: () => ({
      postgres: round(diff(pgAt(), start.postgres)),
      worker: round(diff(workerAt(), start.worker)),
      bench: round(benchAt() - start.bench)!,
      machineBusy: round(diff(machineBusySeconds(), start.machineBusy)),
    }),
  };
}
