// lockdep's dependency graph in the shared state (so worker threads share one graph): per
// (held class, acquired class) the first acquisition that made the dependency.
import { E_HELD_AT, E_LEN, E_READY, E_TAKEN_AT, E_TEXT, E_WHO, EDGE_TEXT_MAX, LOCK_CLASSES, edgeWord } from './layout.js';
import type { Shm } from './state.js';

export { LOCK_CLASSES };

// E_WHO: 0 no dependency, CLAIMING while its recorder writes it, else 1 + the recorder.
const CLAIMING = -1;

/** the actor that made the dependency from -> to, or -1: not recorded (or still being written) */
export function edgeWho(s: Shm, from: number, to: number): number {
  const w = Atomics.load(s.i32, edgeWord(s.l, from, to, E_WHO));
  return w > 0 ? w - 1 : -1;
}

/**
 * Record from -> to as made by `who`, with where both locks were taken and its stack text;
 * false if another acquisition is recording it. Everything is written before the dependency is
 * published, so a thread that finds it (closing a cycle) reads it whole.
 */
export function claimEdge(s: Shm, from: number, to: number, who: number, heldAt: number, takenAt: number, text: string | null): boolean {
  const w = edgeWord(s.l, from, to, E_WHO);
  if (Atomics.compareExchange(s.i32, w, 0, CLAIMING) !== 0) return false;
  Atomics.store(s.i32, edgeWord(s.l, from, to, E_HELD_AT), heldAt + 1);
  Atomics.store(s.i32, edgeWord(s.l, from, to, E_TAKEN_AT), takenAt + 1);
  if (text !== null) setEdgeText(s, from, to, text);
  Atomics.store(s.i32, w, who + 1);
  return true;
}

/** the yield points at which the two locks of a recorded dependency were taken */
export const edgePoints = (s: Shm, from: number, to: number): [number, number] => [Atomics.load(s.i32, edgeWord(s.l, from, to, E_HELD_AT)) - 1, Atomics.load(s.i32, edgeWord(s.l, from, to, E_TAKEN_AT)) - 1];

/** The dependency's stack text (set once, by its recorder, before it is published). */
function setEdgeText(s: Shm, from: number, to: number, text: string): void {
  const n = Math.min(text.length, EDGE_TEXT_MAX);
  const base = edgeWord(s.l, from, to, E_TEXT);
  for (let i = 0; i < n; i++) s.i32[base + i] = text.charCodeAt(i);
  Atomics.store(s.i32, edgeWord(s.l, from, to, E_LEN), n);
  Atomics.store(s.i32, edgeWord(s.l, from, to, E_READY), 1);
}

/** The stack text, or null when none was recorded (yet). */
export function edgeText(s: Shm, from: number, to: number): string | null {
  if (Atomics.load(s.i32, edgeWord(s.l, from, to, E_READY)) !== 1) return null;
  const n = Atomics.load(s.i32, edgeWord(s.l, from, to, E_LEN));
  const base = edgeWord(s.l, from, to, E_TEXT);
  let t = '';
  for (let i = 0; i < n; i++) t += String.fromCharCode(s.i32[base + i]);
  return t;
}
