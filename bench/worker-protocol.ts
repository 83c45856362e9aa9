/** Messages between the benchmark and its worker child process (Node IPC). */
export type ToWorker = { type: 'stop' };

export type FromWorker =
  | { type: 'ready'; pid: number }
  /** process.resourceUsage().maxRSS, in kilobytes, after the worker stopped. */
  | { type: 'stopped'; maxRssKb: number }
  | { type: 'error'; message: string };
