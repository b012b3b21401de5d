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

/** Returns the CASes lost to another CPU on the reader count: the shared line's cost. */
export function rwReadLock(a: Int32Array, w: number, stop?: () => boolean): number {
  let lost = 0;
  for (let i = 0; ; i++) {
    const s = Atomics.load(a, w);
    if ((s & (WRITER | PENDING)) === 0) {
      if (Atomics.compareExchange(a, w, s, s + 1) === s) return lost;
      lost++;
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

// ---- big-reader lock (mmu_lock with --mmu-lock percpu, like percpu_rw_semaphore) ----
// The lock word holds only the writer; each reader has a slot on its own line (slot words
// first + k*stride, k < n), counting its read holds. A reader publishes its slot, then checks
// for a writer; a writer takes the word, then waits for every slot to drain. Both orders are seq_cst Atomics, so one of
// the two always sees the other (Dekker). Readers write only their own line.

export const brCanRead = (a: Int32Array, w: number) => Atomics.load(a, w) === 0;

export function brCanWrite(a: Int32Array, w: number, first: number, n: number, stride: number): boolean {
  if (Atomics.load(a, w) !== 0) return false;
  for (let k = 0; k < n; k++) if (Atomics.load(a, first + k * stride) !== 0) return false;
  return true;
}

export function brTryRead(a: Int32Array, w: number, slot: number): boolean {
  if (Atomics.load(a, w) !== 0) return false;
  Atomics.add(a, slot, 1);
  if (Atomics.load(a, w) === 0) return true;
  brReadUnlock(a, w, slot);
  return false;
}

export function brTryWrite(a: Int32Array, w: number, first: number, n: number, stride: number): boolean {
  if (!brCanWrite(a, w, first, n, stride) || Atomics.compareExchange(a, w, 0, WRITER) !== 0) return false;
  for (let k = 0; k < n; k++) {
    if (Atomics.load(a, first + k * stride) !== 0) {
      brWriteUnlock(a, w);
      return false;
    }
  }
  return true;
}

/** Returns how often the reader backed off from a writer. */
export function brReadLock(a: Int32Array, w: number, slot: number, stop?: () => boolean): number {
  let backoffs = 0;
  for (let i = 0; ; i++) {
    if (Atomics.load(a, w) === 0) {
      Atomics.add(a, slot, 1);
      if (Atomics.load(a, w) === 0) return backoffs;
      brReadUnlock(a, w, slot); // a writer came in between: let it drain us
      backoffs++;
    }
    if (i >= SPINS) {
      Atomics.add(a, w + 1, 1);
      Atomics.wait(a, w, WRITER, 50);
      Atomics.sub(a, w + 1, 1);
      if (stop?.()) throw new StopError();
    }
  }
}

export function brWriteLock(a: Int32Array, w: number, first: number, n: number, stride: number, stop?: () => boolean): void {
  for (let i = 0; Atomics.compareExchange(a, w, 0, WRITER) !== 0; i++) {
    if (i >= SPINS) {
      Atomics.add(a, w + 1, 1);
      Atomics.wait(a, w, WRITER, 50);
      Atomics.sub(a, w + 1, 1);
      if (stop?.()) throw new StopError();
    }
  }
  // New readers now back off; wait out the ones inside.
  for (let k = 0; k < n; k++) {
    const slot = first + k * stride;
    for (let i = 0, held; (held = Atomics.load(a, slot)) !== 0; i++) {
      if (i < SPINS) continue;
      Atomics.wait(a, slot, held, 50);
      if (stop?.()) {
        brWriteUnlock(a, w);
        throw new StopError();
      }
    }
  }
}

export function brReadUnlock(a: Int32Array, w: number, slot: number): void {
  Atomics.sub(a, slot, 1);
  if (Atomics.load(a, w) !== 0) Atomics.notify(a, slot); // a writer may sleep on the slot
}

export function brWriteUnlock(a: Int32Array, w: number): void {
  Atomics.store(a, w, 0);
  if (Atomics.load(a, w + 1) !== 0) Atomics.notify(a, w);
}

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
