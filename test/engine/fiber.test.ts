// The Fiber (engine/fiber.ts): a path's calls run on the actor's stack with the semantics of
// yield*: the same points in the same order, return values sent back, exceptions unwinding
// through each caller's try/finally, and lockdep's callers named.
import { describe, expect, it } from 'vitest';
import { NO_CALL, type Gen } from '../../src/engine/ctx.js';
import { Fiber, fiberOf, registerPaths } from '../../src/engine/fiber.js';

function* leaf(n: number): Gen<number> {
  yield 10 + n;
  yield 20 + n;
  return n * 2;
}
function* viaCall(log: string[]): Gen<number> {
  yield 1;
  const a = (yield leaf(1)) as number;
  log.push(`a=${a}`);
  yield NO_CALL; // nothing to do: popped at once, no step
  const b = (yield leaf(2)) as number;
  return a + b;
}
function* viaDelegation(log: string[]): Gen<number> {
  yield 1;
  const a = yield* leaf(1);
  log.push(`a=${a}`);
  const b = yield* leaf(2);
  return a + b;
}

const run = <T>(g: Gen<T>): { points: number[]; value: T } => {
  const f = new Fiber(g);
  const points: number[] = [];
  for (;;) {
    const r = f.next();
    if (r.done) return { points, value: r.value };
    points.push(r.value);
  }
};

describe('Fiber', () => {
  it('a call takes the same points and returns the same value as yield*', () => {
    const l1: string[] = [];
    const l2: string[] = [];
    expect(run(viaCall(l1))).toEqual(run(viaDelegation(l2)));
    expect(run(viaCall([]))).toEqual({ points: [1, 11, 21, 12, 22], value: 6 });
    expect(l1).toEqual(l2);
  });

  it('a throw in a callee unwinds through every caller: catch and finally run as under yield*', () => {
    const log: string[] = [];
    function* thrower(): Gen {
      yield 5;
      throw new Error('boom');
    }
    function* middle(): Gen {
      try {
        yield thrower();
      } finally {
        log.push('middle finally');
      }
    }
    function* top(): Gen<string> {
      try {
        yield middle();
        return 'not reached';
      } catch (e) {
        log.push(`top caught ${(e as Error).message}`);
        yield 6;
        return 'recovered';
      }
    }
    expect(run(top())).toEqual({ points: [5, 6], value: 'recovered' });
    expect(log).toEqual(['middle finally', 'top caught boom']);
  });

  it('an exception nobody catches leaves the root', () => {
    function* bad(): Gen {
      yield (function* (): Gen {
        throw new Error('uncaught');
      })();
    }
    expect(() => new Fiber(bad()).next()).toThrow('uncaught');
  });

  it('names the suspended callers that registered, outermost first', () => {
    function* inner(): Gen {
      yield 1;
    }
    function* outer(): Gen {
      yield inner();
    }
    function* anonymous(): Gen {
      yield outer();
    }
    registerPaths({ inner, outer });
    const f = new Fiber(anonymous());
    f.next();
    expect(f.depth).toBe(3);
    expect(f.callerNames()).toEqual(['outer']); // the innermost is on the JS stack, the root is not registered
  });

  it('fiberOf resumes a path stepped by hand where it stopped', () => {
    const g = viaCall([]);
    expect(fiberOf(g).next().value).toBe(1);
    expect(fiberOf(g).next().value).toBe(11);
    expect(fiberOf(g)).toBe(fiberOf(g));
  });
});
