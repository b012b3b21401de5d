// Run control words (both engines): stop, the first violation, the threads engine's replay turn
// and step, the pause barrier, the free-running step log, and the recorded schedule regions.
import { G_LOG_STEP, G_PAUSE, G_START_GO, G_START_READY, G_STEP, G_STOP, G_TURN, G_VIOLATION } from './layout.js';
import type { Shm } from './state.js';

/** 0 running, 1 soft stop (finish the operation), 2 hard stop (abort waits) */
export const runStop = (s: Shm) => Atomics.load(s.i32, G_STOP);
export function setRunStop(s: Shm, v: number): void {
  Atomics.store(s.i32, G_STOP, v);
  Atomics.notify(s.i32, G_STOP);
}
/** 0 none, else 1 + invariant index: the first violation of the run (CAS: the first reporter wins) */
export const runViolation = (s: Shm) => Atomics.load(s.i32, G_VIOLATION);
export const claimViolation = (s: Shm, code: number) => Atomics.compareExchange(s.i32, G_VIOLATION, 0, code) === 0;

/** threads replay: the step being taken and the actor whose turn it is (-1: the schedule is over) */
export const replayStep = (s: Shm) => Atomics.load(s.i32, G_STEP);
export const setReplayStep = (s: Shm, v: number) => Atomics.store(s.i32, G_STEP, v);
export const replayTurn = (s: Shm) => Atomics.load(s.i32, G_TURN);
export function setReplayTurn(s: Shm, actor: number): void {
  Atomics.store(s.i32, G_TURN, actor);
  Atomics.notify(s.i32, G_TURN);
}
/** block until the turn word is no longer `t` (or the timeout) */
export const waitTurnChange = (s: Shm, t: number, ms: number) => Atomics.wait(s.i32, G_TURN, t, ms);

/** threads free mode: the pause barrier (park at the next operation boundary) */
export const runPause = (s: Shm) => Atomics.load(s.i32, G_PAUSE);
export const setRunPause = (s: Shm, v: number) => Atomics.store(s.i32, G_PAUSE, v);

/** threads free mode: the start gate. Workers start at different times (a cold worker takes
 *  hundreds of ms to load, more on a loaded machine); the run's clock starts when all are in. */
export const startReady = (s: Shm) => Atomics.load(s.i32, G_START_READY);
export function arriveAtStartGate(s: Shm): void {
  Atomics.add(s.i32, G_START_READY, 1);
  // a stop while waiting (an interrupt, another worker's failure) opens the gate too
  while (Atomics.load(s.i32, G_START_GO) === 0 && runStop(s) === 0) Atomics.wait(s.i32, G_START_GO, 0, 50);
}
export function openStartGate(s: Shm): void {
  Atomics.store(s.i32, G_START_GO, 1);
  Atomics.notify(s.i32, G_START_GO);
}

/** threads free mode: take the next global step number (unsigned: a long run passes 2^31) */
export const takeLogStep = (s: Shm) => Atomics.add(s.i32, G_LOG_STEP, 1) >>> 0;

// the recorded schedule (an actor per step) and the trace (the point each step reached)
export const scheduleAt = (s: Shm, i: number) => s.i32[s.l.scheduleBase + i];
export const setScheduleAt = (s: Shm, i: number, actor: number) => {
  s.i32[s.l.scheduleBase + i] = actor;
};
export const scheduleSlice = (s: Shm, n: number) => Array.from(s.i32.subarray(s.l.scheduleBase, s.l.scheduleBase + n));
export const traceAt = (s: Shm, i: number) => s.i32[s.l.traceBase + i];
export const setTraceAt = (s: Shm, i: number, point: number) => Atomics.store(s.i32, s.l.traceBase + i, point);
