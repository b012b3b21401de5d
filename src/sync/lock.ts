// The model's locks as objects. Each acquisition mode is a Waitable (engine/wait.ts): it answers
// for itself whether it can be taken now (sim), takes it, blocks on it (worker threads), and
// describes who holds it. A mode records its holder: the exclusive holder in the lock's own
// words, every holder in its actor's held-lock mask (for deadlock and watchdog reports).
// The Atomics algorithms underneath are in locks.ts.
import type { ActorCtx } from '../engine/ctx.js';
import { registerWaitable, type Waitable } from '../engine/wait.js';
import { locksHeld, mmuReaderSlot, mmuReaderSlots, setLocksHeld } from '../shm/actor.js';
import { lockHolder, setLockHolder } from '../shm/kvm.js';
import { folioLockPfn } from '../shm/pfn.js';
import type { Shm } from '../shm/state.js';
import { PF_LOCKED } from '../shm/layout.js';
import { LOCK_CLASS_NAMES, lockdepRelease } from './lockdep.js';
import {
  bitCanLock,
  bitLock,
  bitTryLock,
  bitUnlock,
  brCanRead,
  brCanWrite,
  brReadLock,
  brReadUnlock,
  brTryRead,
  brTryWrite,
  brWriteLock,
  brWriteUnlock,
  mutexCanLock,
  mutexLock,
  mutexTryLock,
  mutexUnlock,
  rwCanRead,
  rwCanWrite,
  rwReadLock,
  rwReadUnlock,
  rwTryRead,
  rwTryWrite,
  rwWriteLock,
  rwWriteUnlock,
} from './locks.js';

/** One way of taking a lock (read or write, or the only one). */
export interface LockMode extends Waitable {
  /** lockdep's lock class (LockClass) */
  readonly cls: number;
  readonly exclusive: boolean;
  /** release what this mode took; `arg` is the lock word for instance locks (a folio) */
  release(ctx: ActorCtx, arg?: number): void;
}

function held(ctx: ActorCtx, cls: number, on: boolean): void {
  ctx.locksHeld = on ? ctx.locksHeld | (1 << cls) : ctx.locksHeld & ~(1 << cls);
  setLocksHeld(ctx.s, ctx.base, ctx.locksHeld);
}

/** "held by vcpu0", "held for read by vcpu1, vcpu2", from the holder word and the actors' held masks. */
function holders(s: Shm, word: number, cls: number, names: readonly string[]): string {
  const w = word >= 0 ? lockHolder(s, word) : -1;
  if (w >= 0) return ` (held by ${names[w] ?? `actor ${w}`})`;
  const readers: string[] = [];
  for (let id = 0; id < s.l.nActors; id++) if (locksHeld(s, id) & (1 << cls)) readers.push(names[id] ?? `actor ${id}`);
  return readers.length ? ` (held by ${readers.join(', ')})` : '';
}

abstract class Mode implements LockMode {
  constructor(
    readonly id: number,
    readonly cls: number,
    readonly exclusive: boolean,
    protected readonly word: number,
    private readonly what: string,
  ) {
    registerWaitable(this);
  }
  abstract canProceed(s: Shm, ctx: ActorCtx): boolean;
  protected abstract take(s: Shm, ctx: ActorCtx): boolean;
  protected abstract wait(s: Shm, ctx: ActorCtx, stop: () => boolean): number;
  protected abstract drop(s: Shm, ctx: ActorCtx): void;

  proceed(s: Shm, ctx: ActorCtx): void {
    if (!this.take(s, ctx)) throw new Error(`${ctx.name}: ${this.what} could not be taken`);
    this.acquired(ctx);
  }
  block(s: Shm, ctx: ActorCtx, stop: () => boolean): number {
    const contended = this.wait(s, ctx, stop);
    this.acquired(ctx);
    return contended;
  }
  release(ctx: ActorCtx): void {
    held(ctx, this.cls, false);
    if (this.exclusive) setLockHolder(ctx.s, this.word, -1);
    lockdepRelease(ctx, this.cls);
    this.drop(ctx.s, ctx);
  }
  describe(s: Shm, _arg: number, _arg2: number, names: readonly string[]): string {
    return `${this.what}${holders(s, this.word, this.cls, names)}`;
  }
  private acquired(ctx: ActorCtx): void {
    if (this.exclusive) setLockHolder(ctx.s, this.word, ctx.id);
    held(ctx, this.cls, true);
  }
}

class RwRead extends Mode {
  canProceed(s: Shm): boolean {
    return rwCanRead(s.i32, this.word);
  }
  protected take(s: Shm): boolean {
    return rwTryRead(s.i32, this.word);
  }
  protected wait(s: Shm, _ctx: ActorCtx, stop: () => boolean): number {
    return rwReadLock(s.i32, this.word, stop);
  }
  protected drop(s: Shm): void {
    rwReadUnlock(s.i32, this.word);
  }
}

class RwWrite extends Mode {
  canProceed(s: Shm): boolean {
    return rwCanWrite(s.i32, this.word);
  }
  protected take(s: Shm): boolean {
    return rwTryWrite(s.i32, this.word);
  }
  protected wait(s: Shm, _ctx: ActorCtx, stop: () => boolean): number {
    rwWriteLock(s.i32, this.word, stop);
    return 0;
  }
  protected drop(s: Shm): void {
    rwWriteUnlock(s.i32, this.word);
  }
}

/** A reader/writer lock: writer-preferring (qrwlock, rw_semaphore). */
export class RwLock {
  readonly read: LockMode;
  readonly write: LockMode;
  constructor(readonly name: string, cls: number, word: number, ids: { read: number; write: number }) {
    this.read = new RwRead(ids.read, cls, false, word, `read-lock on ${name}`);
    this.write = new RwWrite(ids.write, cls, true, word, `write-lock on ${name}`);
  }
}

class BrRead extends Mode {
  canProceed(s: Shm): boolean {
    return brCanRead(s.i32, this.word);
  }
  protected take(s: Shm, ctx: ActorCtx): boolean {
    return brTryRead(s.i32, this.word, mmuReaderSlot(s, ctx.base));
  }
  protected wait(s: Shm, ctx: ActorCtx, stop: () => boolean): number {
    return brReadLock(s.i32, this.word, mmuReaderSlot(s, ctx.base), stop);
  }
  protected drop(s: Shm, ctx: ActorCtx): void {
    brReadUnlock(s.i32, this.word, mmuReaderSlot(s, ctx.base));
  }
}

class BrWrite extends Mode {
  canProceed(s: Shm): boolean {
    return brCanWrite(s.i32, this.word, ...mmuReaderSlots(s));
  }
  protected take(s: Shm): boolean {
    return brTryWrite(s.i32, this.word, ...mmuReaderSlots(s));
  }
  protected wait(s: Shm, _ctx: ActorCtx, stop: () => boolean): number {
    brWriteLock(s.i32, this.word, ...mmuReaderSlots(s), stop);
    return 0;
  }
  protected drop(s: Shm): void {
    brWriteUnlock(s.i32, this.word);
  }
}

/** A big-reader lock (percpu_rw_semaphore style): a reader slot per actor, the writer drains them. */
export class BrLock {
  readonly read: LockMode;
  readonly write: LockMode;
  constructor(readonly name: string, cls: number, word: number, ids: { read: number; write: number }) {
    this.read = new BrRead(ids.read, cls, false, word, `read-lock on ${name}`);
    this.write = new BrWrite(ids.write, cls, true, word, `write-lock on ${name}`);
  }
}

class MutexMode extends Mode {
  canProceed(s: Shm): boolean {
    return mutexCanLock(s.i32, this.word);
  }
  protected take(s: Shm): boolean {
    return mutexTryLock(s.i32, this.word);
  }
  protected wait(s: Shm, _ctx: ActorCtx, stop: () => boolean): number {
    mutexLock(s.i32, this.word, stop);
    return 0;
  }
  protected drop(s: Shm): void {
    mutexUnlock(s.i32, this.word);
  }
}

/** A sleeping mutex. */
export class Mutex {
  readonly lock: LockMode;
  constructor(readonly name: string, cls: number, word: number, id: number) {
    this.lock = new MutexMode(id, cls, true, word, name);
  }
}

/** A bit lock in a per-instance word (PG_locked in a folio's flags): the word is the wait's argument. */
export class BitLock implements LockMode {
  readonly exclusive = true;
  constructor(
    readonly name: string,
    readonly cls: number,
    readonly id: number,
    private readonly bit = PF_LOCKED,
  ) {
    registerWaitable(this);
  }
  canProceed = (s: Shm, ctx: ActorCtx) => bitCanLock(s.i32, ctx.waitArg, this.bit);
  proceed(s: Shm, ctx: ActorCtx): void {
    if (!bitTryLock(s.i32, ctx.waitArg, this.bit)) throw new Error(`${ctx.name}: ${this.name} could not be taken`);
    held(ctx, this.cls, true);
  }
  block(s: Shm, ctx: ActorCtx, stop: () => boolean): number {
    bitLock(s.i32, ctx.waitArg, this.bit, stop);
    held(ctx, this.cls, true);
    return 0;
  }
  /** the lock was taken without waiting (a new folio is created locked) */
  created(ctx: ActorCtx): void {
    held(ctx, this.cls, true);
  }
  release(ctx: ActorCtx, word = 0): void {
    held(ctx, this.cls, false);
    lockdepRelease(ctx, this.cls);
    bitUnlock(ctx.s.i32, word, this.bit);
  }
  describe = (s: Shm, arg: number) => `${this.name} of pfn ${folioLockPfn(s, arg)}`;
}

export { LOCK_CLASS_NAMES };
