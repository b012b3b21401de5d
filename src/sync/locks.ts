// Locks on Atomics over Int32 words of the shared state. Each lock has a "try" form (used by the
// sim engine, which only schedules an actor whose acquire can succeed) and a blocking form
// (used on worker threads: spin briefly, then Atomics.wait on the lock word).
// Word w holds the lock; word w+1 counts sleepers so release skips Atomics.notify when nobody sleeps.

const WRITER = 1 << 30;
const PENDING = 1 << 29; // a writer is waiting: new readers hold back (writer preference, like qrwlock)
const READERS = PENDING - 1;
const SPINS = 100;

// ---- reader/writer lock (mmu_lock, filemap invalidate_lock) ----

export const rwCanRead = (a: Int32Array, w: number) => (Atomics.load(a, w) & (WRITER | PENDING)) === 0;
export const rwCanWrite = (a: Int32Array, w: number) => (Atomics.load(a, w) & ~PENDING) === 0;

export function rwTryRead(a: Int32Array, w: number): boolean {
  const s = Atomics.load(a, w);
  return (s & (WRITER | PENDING)) === 0 && Atomics.compareExchange(a, w, s, s + 1) === s;
}

export function rwTryWrite(a: Int32Array, w: number): boolean {
  const s = Atomics.load(a, w);
  return (s & ~PENDING) === 0 && Atomics.compareExchange(a, w, s, WRITER) === s;
}

export function rwReadLock(a: Int32Array, w: number, stop?: () => boolean): void {
  for (let i = 0; ; i++) {
    const s = Atomics.load(a, w);
    if ((s & (WRITER | PENDING)) === 0) {
      if (Atomics.compareExchange(a, w, s, s + 1) === s) return;
      continue;
    }
    if (i >= SPINS) {
      Atomics.add(a, w + 1, 1);
      Atomics.wait(a, w, s, 50);
      Atomics.sub(a, w + 1, 1);
      if (stop?.()) throw new StopError();
    }
  }
}

export function rwWriteLock(a: Int32Array, w: number, stop?: () => boolean): void {
  for (let i = 0; ; i++) {
    const s = Atomics.load(a, w);
    if ((s & ~PENDING) === 0) {
      if (Atomics.compareExchange(a, w, s, WRITER) === s) return;
      continue;
    }
    if ((s & PENDING) === 0) Atomics.compareExchange(a, w, s, s | PENDING);
    if (i >= SPINS) {
      Atomics.add(a, w + 1, 1);
      Atomics.wait(a, w, s | PENDING, 50);
      Atomics.sub(a, w + 1, 1);
      if (stop?.()) throw new StopError();
    }
  }
}

export function rwReadUnlock(a: Int32Array, w: number): void {
  const prev = Atomics.sub(a, w, 1);
  if ((prev & READERS) === 1 && Atomics.load(a, w + 1) !== 0) Atomics.notify(a, w);
}

export function rwWriteUnlock(a: Int32Array, w: number): void {
  // Clears PENDING too: a writer still waiting sets it again on its next spin.
  Atomics.and(a, w, ~WRITER & ~PENDING);
  if (Atomics.load(a, w + 1) !== 0) Atomics.notify(a, w);
}

export const rwReaders = (a: Int32Array, w: number) => Atomics.load(a, w) & READERS;
export const rwWriter = (a: Int32Array, w: number) => (Atomics.load(a, w) & WRITER) !== 0;

// ---- mutex (slots_lock) ----

export const mutexCanLock = (a: Int32Array, w: number) => Atomics.load(a, w) === 0;
export const mutexTryLock = (a: Int32Array, w: number) => Atomics.compareExchange(a, w, 0, 1) === 0;

export function mutexLock(a: Int32Array, w: number, stop?: () => boolean): void {
  for (let i = 0; ; i++) {
    if (Atomics.compareExchange(a, w, 0, 1) === 0) return;
    if (i >= SPINS) {
      Atomics.add(a, w + 1, 1);
      Atomics.wait(a, w, 1, 50);
      Atomics.sub(a, w + 1, 1);
      if (stop?.()) throw new StopError();
    }
  }
}

export function mutexUnlock(a: Int32Array, w: number): void {
  Atomics.store(a, w, 0);
  if (Atomics.load(a, w + 1) !== 0) Atomics.notify(a, w);
}

// ---- bit lock (folio lock: PF_LOCKED in the pfn's flags word) ----

export const bitCanLock = (a: Int32Array, w: number, bit: number) => (Atomics.load(a, w) & bit) === 0;

export function bitTryLock(a: Int32Array, w: number, bit: number): boolean {
  return (Atomics.or(a, w, bit) & bit) === 0;
}

export function bitLock(a: Int32Array, w: number, bit: number, stop?: () => boolean): void {
  for (let i = 0; ; i++) {
    if ((Atomics.or(a, w, bit) & bit) === 0) return;
    if (i >= SPINS) {
      const s = Atomics.load(a, w);
      if (s & bit) Atomics.wait(a, w, s, 1);
      if (stop?.()) throw new StopError();
    }
  }
}

export function bitUnlock(a: Int32Array, w: number, bit: number): void {
  Atomics.and(a, w, ~bit);
  Atomics.notify(a, w);
}

// ---- internal spinlock (zone lock of the page allocator; never a yield point) ----

export function spinLock(a: Int32Array, w: number): void {
  while (Atomics.compareExchange(a, w, 0, 1) !== 0) {
    /* critical sections are a handful of words */
  }
}

export function spinUnlock(a: Int32Array, w: number): void {
  Atomics.store(a, w, 0);
}

/** Thrown out of a blocking wait when the run is being stopped (threads engine). */
export class StopError extends Error {
  constructor() {
    super('run stopped');
  }
}
