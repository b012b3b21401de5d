// What bounds a long run besides its own work: a deadline and a stop word. The stop word is one
// Int32 in a SharedArrayBuffer, so the thread that receives a signal (the CLI's main thread) can
// stop a run busy on another thread, which cannot see the signal itself.

export type StopCause = 'time' | 'signal';

export interface Budget {
  /** Date.now() at which to stop */
  deadline?: number;
  /** non-zero: stop (the CLI stores the signal's number) */
  stop?: Int32Array;
  /** called at every check inside a schedule with its steps so far (progress from a long schedule) */
  tick?: (steps: number) => void;
}

/** Steps between budget checks inside one schedule (a clock read costs little at this spacing). */
export const BUDGET_CHECK_STEPS = 8192;

export function budgetOver(b: Budget | undefined): StopCause | null {
  if (!b) return null;
  if (b.stop !== undefined && Atomics.load(b.stop, 0) !== 0) return 'signal';
  if (b.deadline !== undefined && Date.now() >= b.deadline) return 'time';
  return null;
}

/** The stop word's value when the library's AbortSignal stopped the run (not a signal number: those are below 64). */
export const STOP_ABORTED = 1000;

/** A fresh stop word (shareable with workers). */
export const newStopWord = (): Int32Array => new Int32Array(new SharedArrayBuffer(4));
