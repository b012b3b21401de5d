// lockdep for the model (kernel/locking/lockdep.c's idea, on the model's locks): every acquire
// records, for each lock the actor already holds, the dependency "held -> acquired" in one graph
// per run (in the shared state, so worker threads share it). A new dependency that closes a cycle
// is a possible deadlock, reported as LOCK_ORDER with the acquisitions that made each edge, whether
// or not this run deadlocks. Taking a lock class already held is LOCK_ORDER too (recursive
// locking). lockdep_assert_held() that fails, an unlock of a lock not held and a lock still held at
// an operation boundary or when the program returns are LOCK_HELD.
//
// As lockdep does, dependencies are per lock class, not per lock instance (every folio lock is one
// class), and a recursive read (srcu_read_lock) is tracked as held but makes no dependency.
// Internal spinlocks (zone locks, mn_invalidate_lock) are leaves that never nest another lock and
// are not tracked.
import type { ActorCtx } from '../engine/ctx.js';
import { FUNCTION_OF_POINT, POINT_NAMES } from '../engine/points.js';
import { LOCK_CLASSES, claimEdge, edgePoints, edgeText, edgeWho } from '../shm/lockdep.js';

export const LockClass = { Slots: 0, Invalidate: 1, Mmu: 2, Folio: 3, Srcu: 4, SharedPolicy: 5 } as const;
export const LOCK_CLASS_NAMES = ['kvm->slots_lock', 'filemap invalidate_lock', 'kvm->mmu_lock', 'folio lock', 'kvm->srcu', 'sp->lock'];
if (LOCK_CLASS_NAMES.length !== LOCK_CLASSES) throw new Error('lockdep: a name per lock class');

/** An actor's held locks, innermost last: class | exclusive << 4 | (yield point + 1) << 8. */
export interface Lockdep {
  held: Int32Array;
  n: number;
  /** capture JS stacks (the kernel functions on the way) for new dependencies: off in explore's hot loop, on in replays and threads */
  stacks: boolean;
}

export const newLockdep = (stacks: boolean): Lockdep => ({ held: new Int32Array(16), n: 0, stacks });

const clsOf = (e: number) => e & 15;
const exclOf = (e: number) => (e >> 4) & 1;
const pointOf = (e: number) => (e >> 8) - 1;

/** lock_acquire, before the actor blocks on the lock (so a deadlock is reported before it hangs). */
export function lockdepAcquire(ctx: ActorCtx, cls: number, exclusive: boolean, point: number): void {
  const d = ctx.lockdep;
  for (let i = 0; i < d.n; i++) {
    const h = d.held[i];
    if (clsOf(h) === cls) {
      ctx.report('LOCK_ORDER', `possible recursive locking: ${ctx.name} takes ${LOCK_CLASS_NAMES[cls]} (at ${at(point)}) while already holding it (taken at ${at(pointOf(h))})`);
      continue;
    }
    addDependency(ctx, clsOf(h), pointOf(h), cls, point);
  }
  push(d, cls, exclusive, point);
}

/** A lock that cannot block: held from now on, no dependency checked for it (a new page-cache folio starts locked). */
export function lockdepTrylock(ctx: ActorCtx, cls: number, exclusive: boolean, point: number): void {
  push(ctx.lockdep, cls, exclusive, point);
}

/** synchronize_srcu: waits for the readers, so every lock held now orders before the SRCU read side; nothing stays held. */
export function lockdepSync(ctx: ActorCtx, cls: number, point: number): void {
  const d = ctx.lockdep;
  for (let i = 0; i < d.n; i++) addDependency(ctx, clsOf(d.held[i]), pointOf(d.held[i]), cls, point);
}

/** srcu_read_lock: a recursive read, no dependency on it; later acquisitions order after it. */
export function lockdepReadRecursive(ctx: ActorCtx, cls: number, point: number): void {
  push(ctx.lockdep, cls, false, point);
}

/** lock_release: the innermost held lock of the class. */
export function lockdepRelease(ctx: ActorCtx, cls: number): void {
  const d = ctx.lockdep;
  for (let i = d.n - 1; i >= 0; i--) {
    if (clsOf(d.held[i]) !== cls) continue;
    for (let j = i + 1; j < d.n; j++) d.held[j - 1] = d.held[j]; // usually the innermost: nothing to move
    d.n--;
    return;
  }
  ctx.report('LOCK_HELD', `bad unlock balance: ${ctx.name} releases ${LOCK_CLASS_NAMES[cls]}, which it does not hold`);
}

/** lockdep_is_held: does this actor hold the class (exclusively, when asked)? */
export function lockdepIsHeld(ctx: ActorCtx, cls: number, exclusive = false): boolean {
  const d = ctx.lockdep;
  for (let i = 0; i < d.n; i++) if (clsOf(d.held[i]) === cls && (!exclusive || exclOf(d.held[i]) === 1)) return true;
  return false;
}

/** lockdep_assert_held / lockdep_assert_held_write in kernel function `fn`. */
export function lockdepAssertHeld(ctx: ActorCtx, cls: number, exclusive: boolean, fn: string): void {
  if (!lockdepIsHeld(ctx, cls, exclusive)) ctx.report('LOCK_HELD', `${fn}: lockdep_assert_held${exclusive ? '_write' : ''}(${LOCK_CLASS_NAMES[cls]}) fails: ${ctx.name} does not hold it${exclusive ? ' for write' : ''}`);
}

/** lockdep_assert_once(cond) in kernel function `fn`: a locking rule given as a condition. */
export function lockdepAssertOnce(ctx: ActorCtx, cond: boolean, fn: string, rule: string): void {
  if (!cond) ctx.report('LOCK_HELD', `${fn}: lockdep_assert_once(${rule}) fails for ${ctx.name}`);
}

/** Between operations nothing may be held (lockdep's "lock held when returning to user space"). */
export function lockdepAssertNoneHeld(ctx: ActorCtx, where: string): void {
  const d = ctx.lockdep;
  if (d.n === 0) return;
  const names = Array.from(d.held.subarray(0, d.n), (h) => `${LOCK_CLASS_NAMES[clsOf(h)]} (taken at ${at(pointOf(h))})`);
  ctx.report('LOCK_HELD', `${ctx.name} ${where} still holding ${names.join(', ')}`);
  d.n = 0;
}

function push(d: Lockdep, cls: number, exclusive: boolean, point: number): void {
  if (d.n === d.held.length) throw new Error('lockdep: more than 16 locks held at once');
  d.held[d.n++] = cls | ((exclusive ? 1 : 0) << 4) | ((point + 1) << 8);
}

const at = (point: number) => (point < 0 ? 'an unknown point' : `${POINT_NAMES[point]} in ${FUNCTION_OF_POINT[point]}`);

/** Record held -> taken; if it is new and the graph already leads from taken back to held, report the cycle. */
function addDependency(ctx: ActorCtx, held: number, heldAt: number, taken: number, takenAt: number): void {
  const s = ctx.s;
  if (edgeWho(s, held, taken) >= 0) return;
  // another thread is recording it: that thread checks the cycle
  if (!claimEdge(s, held, taken, ctx.id, heldAt, takenAt, ctx.lockdep.stacks ? kernelStack(ctx) : null)) return;
  const back = path(ctx, taken, held);
  if (!back) return;
  const edges = [describeEdge(ctx, held, taken)];
  for (let i = 0; i + 1 < back.length; i++) edges.push(describeEdge(ctx, back[i], back[i + 1]));
  ctx.report(
    'LOCK_ORDER',
    `possible circular locking dependency: ${LOCK_CLASS_NAMES[held]} -> ${LOCK_CLASS_NAMES[taken]} -> ${back.slice(1).map((c) => LOCK_CLASS_NAMES[c]).join(' -> ')}; ${edges.join('; ')}`,
  );
}

/** A path of classes from -> ... -> to through recorded dependencies (breadth first), or null. */
function path(ctx: ActorCtx, from: number, to: number): number[] | null {
  const prev = new Int32Array(LOCK_CLASSES).fill(-2);
  prev[from] = -1;
  const queue = [from];
  while (queue.length) {
    const a = queue.shift()!;
    if (a === to) {
      const out = [to];
      for (let c = prev[to]; c >= 0; c = prev[c]) out.unshift(c);
      return out;
    }
    for (let b = 0; b < LOCK_CLASSES; b++) {
      if (prev[b] === -2 && edgeWho(ctx.s, a, b) >= 0) {
        prev[b] = a;
        queue.push(b);
      }
    }
  }
  return null;
}

/** "puncher0 took kvm->mmu_lock while holding filemap invalidate_lock (puncherProgram > kvmGmemPunchHole > ...)". */
function describeEdge(ctx: ActorCtx, held: number, taken: number): string {
  const who = edgeWho(ctx.s, held, taken);
  const name = ctx.actorNames[who] ?? `actor ${who}`;
  const [heldAt, takenAt] = edgePoints(ctx.s, held, taken);
  const text = edgeText(ctx.s, held, taken);
  return `${name} took ${LOCK_CLASS_NAMES[taken]} while holding ${LOCK_CLASS_NAMES[held]} (${text ? `stack: ${text}` : `held since ${at(heldAt)}, taken at ${at(takenAt)}`})`;
}

/** The lock primitives' own frames: a report names the path that took the lock. */
const NOT_NAMED = new Set(['acquire', 'mmuAcquire', 'blockOn']);

/** The model's functions on the JS stack (generator frames of kernel paths and actor programs), outermost first. */
function kernelStack(ctx: ActorCtx): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const text = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*at (?:Object\.|Generator\.)?([\w$.]+)(?: \[as \w+\])? \((.*)\)$/.exec(line);
    if (!m || m[1].endsWith('.next') || NOT_NAMED.has(m[1]) || !/[/\\](kvm|gmem|mm|workload|test)[/\\]|[/\\]sync[/\\](ops|srcu)\./.test(m[2])) continue;
    names.push(m[1]);
  }
  // the JS stack holds the innermost path; its callers are suspended on the actor's Fiber
  return [...(ctx.fiber?.callerNames().filter((n) => !NOT_NAMED.has(n)) ?? []), ...names.reverse()].join(' > ');
}
