// An actor's call stack of kernel paths. A path yields a point (a number: the step ends there) or
// a sub-path (a generator: called here, its return value sent back to the caller when it
// returns). Both engines resume actors through a Fiber, so a step resumes only the innermost
// path, as deep as the kernel's call chain goes (with `yield*`, every frame of the chain would
// be resumed at every step). Exceptions unwind the stack as they would through `yield*`: each
// caller gets them at its `yield`, with its own try/finally. Unlike yield*, nothing stops a path
// from yielding a generator that is already on the stack (don't), and there is no return(): no
// engine abandons a path part-way (a stop is a StopError thrown through it).
import type { Gen } from './ctx.js';

export class Fiber<T = unknown> {
  private readonly stack: Gen<unknown>[];

  constructor(root: Gen<T>) {
    this.stack = [root];
  }

  /** Run to the next point ({done: false, value: point}) or to the root's return. */
  next(): IteratorResult<number, T> {
    const stack = this.stack;
    let g = stack[stack.length - 1];
    let send: unknown = undefined;
    let thrown: unknown = undefined;
    let throwing = false;
    for (;;) {
      let r: IteratorResult<number | Gen<unknown>, unknown>;
      try {
        r = throwing ? g.throw(thrown) : g.next(send);
      } catch (e) {
        if (stack.length === 1) throw e;
        stack.pop();
        g = stack[stack.length - 1];
        thrown = e;
        throwing = true;
        continue;
      }
      throwing = false;
      if (r.done) {
        if (stack.length === 1) return r as IteratorReturnResult<T>;
        stack.pop();
        g = stack[stack.length - 1];
        send = r.value;
        continue;
      }
      const v = r.value;
      if (typeof v === 'number') return r as IteratorYieldResult<number>;
      if (typeof v?.next !== 'function') throw new TypeError(`a kernel path yielded ${String(v)}: a point (number) or a path to call (a generator) is allowed`);
      stack.push(v);
      g = v;
      send = undefined;
    }
  }

  /**
   * The functions of the calls under way below the innermost, outermost first (lockdep's report
   * of a new dependency names them: the JS stack holds only the innermost path, the others are
   * suspended here). A path not registered with registerPaths is left out.
   */
  callerNames(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.stack.length - 1; i++) {
      const name = PATH_NAMES.get(Object.getPrototypeOf(this.stack[i]) as object);
      if (name !== undefined) out.push(name);
    }
    return out;
  }

  /** Calls under way, the root included (1: only the actor's program). */
  get depth(): number {
    return this.stack.length;
  }
}

// A generator object's prototype is its function's \`prototype\`: the only way back to the name.
const PATH_NAMES = new WeakMap<object, string>();

/** Name kernel paths (generator functions) for callerNames: each module registers its own. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any kernel path, whatever its arguments
export function registerPaths(fns: Record<string, (...args: any[]) => Gen<any>>): void {
  for (const [name, fn] of Object.entries(fns)) {
    // an arrow function returning another path's generator has no prototype: that path is named where it is defined
    if (typeof fn.prototype === 'object' && fn.prototype !== null) PATH_NAMES.set(fn.prototype as object, name);
  }
}

const BY_ROOT = new WeakMap<Gen<unknown>, Fiber<unknown>>();

/** The Fiber running path `g`, made on first use: code that steps a path by hand, a few steps at a time (tests, benchmarks), resumes it where it stopped. */
export function fiberOf<T>(g: Gen<T>): Fiber<T> {
  let f = BY_ROOT.get(g) as Fiber<T> | undefined;
  if (f === undefined) BY_ROOT.set(g, (f = new Fiber(g)) as Fiber<unknown>);
  return f;
}
