import { describe, it, expect } from 'vitest';
import { checkAttrStore, checkBalanced, checkInProgress, checkInstall, checkPfnRemoved, checkSlotFlushed } from '../../src/check/online.js';
import { quiescentSweep } from '../../src/check/sweep.js';
import type { ActorCtx } from '../../src/engine/ctx.js';
import { kvmGmemGetPfn } from '../../src/gmem/guest_memfd.js';
import { hvaToPfn } from '../../src/kvm/hva.js';
import { RET_PF_FIXED } from '../../src/kvm/mmu.js';
import {
  A_INSIDE,
  F_ATTR,
  F_SPTE_FLAGS,
  F_SPTE_PFN,
  G_IN_PROGRESS,
  KVM_MEMORY_ATTRIBUTE_PRIVATE as PRIV,
  P_GEN,
  P_OWNER,
  P_RMAP,
  P_RMAP_GFN,
  PfnOwner,
  S_FILE,
  S_STATE,
  SPTE_PRIVATE,
  SPTE_WRITABLE,
  SlotState,
  actorWord,
  gfnWord,
  pfnWord,
  slotWord,
} from '../../src/shm/layout.js';
import { drive, world, type World } from '../helpers.js';
import { CROSSED, actor, actorW, fault, pfnW, setAttr } from './util.js';

const set = (w: World, word: number, v: number) => Atomics.store(w.s.i32, word, v);
const found = (w: World) => w.violations.map((v) => v.invariant);

describe('checkInstall', () => {
  /** A private folio at gfn 3 / index 3 and a shared HVA page at gfn 20 / hva 20, resolved but not mapped. */
  function setup() {
    const w = world();
    const v = actor(w, 'vcpu0');
    setAttr(w, 3, true);
    const priv = drive(v, kvmGmemGetPfn(v, 0, 3));
    const shared = drive(v, hvaToPfn(v, 20));
    const ok = (ctx: ActorCtx = v) => checkInstall(ctx, 0, 3, priv, pfnW(w, priv, P_GEN), true, 3);
    return { w, v, priv, shared, ok };
  }

  it('is quiet on a good private and a good shared install', () => {
    const { w, v, shared, ok } = setup();
    ok();
    checkInstall(v, 1, 20, shared, pfnW(w, shared, P_GEN), false, 20);
    expect(w.violations).toEqual([]);
  });

  it('I1: the pfn was freed since it was resolved (generation moved)', () => {
    const { w, v, priv } = setup();
    const gen = pfnW(w, priv, P_GEN);
    set(w, pfnWord(w.s.l, priv, P_GEN), gen + 1);
    checkInstall(v, 0, 3, priv, gen, true, 3);
    expect(found(w)).toEqual(['I1']);
    expect(w.violations[0].message).toMatch(/freed/);
  });

  it('I1: wrong owner (removed from the page cache, or an HVA page for a private install)', () => {
    const a = setup();
    set(a.w, pfnWord(a.w.s.l, a.priv, P_OWNER), PfnOwner.Removed);
    a.ok();
    expect(found(a.w)).toEqual(['I1']);
    const b = setup();
    checkInstall(b.v, 0, 3, b.shared, pfnW(b.w, b.shared, P_GEN), true, 3);
    expect(found(b.w)).toContain('I1');
  });

  it('I1: right owner, wrong index', () => {
    const { w, v, priv } = setup();
    checkInstall(v, 0, 4, priv, pfnW(w, priv, P_GEN), true, 4);
    expect(found(w)).toContain('I1');
  });

  it('I2: a private install while the attribute is shared, and vice versa', () => {
    const a = setup();
    setAttr(a.w, 3, false);
    a.ok();
    expect(found(a.w)).toEqual(['I2']);
    const b = setup();
    setAttr(b.w, 20, true);
    checkInstall(b.v, 1, 20, b.shared, pfnW(b.w, b.shared, P_GEN), false, 20);
    expect(found(b.w)).toEqual(['I2']);
  });

  it('I8: the memslot was flushed or removed; Invalid alone is allowed', () => {
    for (const [state, want] of [
      [SlotState.Flushed, ['I8']],
      [SlotState.Absent, ['I8']],
      [SlotState.Invalid, []],
    ] as const) {
      const { w, ok } = setup();
      set(w, slotWord(w.s.l, 0, S_STATE), state);
      ok();
      expect(found(w)).toEqual(want);
    }
  });

  it('I8: private install with the slot unbound from the file, or the index bound to another slot', () => {
    const a = setup();
    set(a.w, slotWord(a.w.s.l, 0, S_FILE), 0);
    a.ok();
    expect(found(a.w)).toEqual(['I8']);
    const b = setup();
    set(b.w, b.w.s.l.bindingBase + 3, 2);
    b.ok();
    expect(found(b.w)).toEqual(['I8']);
  });

  it('a shared install does not need a gmem binding', () => {
    const { w, v, shared } = setup();
    set(w, slotWord(w.s.l, 1, S_FILE), 0);
    set(w, w.s.l.bindingBase + 20, 0);
    checkInstall(v, 1, 20, shared, pfnW(w, shared, P_GEN), false, 20);
    expect(w.violations).toEqual([]);
  });
});

describe('checkPfnRemoved', () => {
  it('I1 when an SPTE still maps the page, quiet otherwise', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    checkPfnRemoved(v, 7, 'truncated');
    expect(w.violations).toEqual([]);
    set(w, pfnWord(w.s.l, 7, P_RMAP), 1);
    set(w, pfnWord(w.s.l, 7, P_RMAP_GFN), 12);
    checkPfnRemoved(v, 7, 'freed');
    expect(found(w)).toEqual(['I1']);
    expect(w.violations[0].message).toMatch(/pfn 7 freed.*gfn 12/);
  });
});

describe('checkAttrStore', () => {
  it('I2 when an SPTE of the other type survives, quiet when types agree or no SPTE', () => {
    const w = world();
    const c = actor(w, 'converter');
    checkAttrStore(c, 4); // no SPTE
    set(w, gfnWord(w.s.l, 4, F_SPTE_PFN), 1);
    set(w, gfnWord(w.s.l, 4, F_SPTE_FLAGS), SPTE_PRIVATE | SPTE_WRITABLE);
    set(w, gfnWord(w.s.l, 4, F_ATTR), PRIV);
    checkAttrStore(c, 4); // agree
    expect(w.violations).toEqual([]);
    set(w, gfnWord(w.s.l, 4, F_ATTR), 0);
    checkAttrStore(c, 4);
    expect(found(w)).toEqual(['I2']);
    set(w, gfnWord(w.s.l, 4, F_SPTE_FLAGS), SPTE_WRITABLE);
    set(w, gfnWord(w.s.l, 4, F_ATTR), PRIV);
    checkAttrStore(c, 4);
    expect(found(w)).toEqual(['I2', 'I2']);
  });
});

describe('checkSlotFlushed', () => {
  it('I8 when an SPTE of the slot survives, quiet for other slots', () => {
    const w = world();
    const d = actor(w, 'churn');
    checkSlotFlushed(d, 0);
    set(w, gfnWord(w.s.l, 15, F_SPTE_PFN), 1);
    checkSlotFlushed(d, 1);
    expect(w.violations).toEqual([]);
    checkSlotFlushed(d, 0);
    expect(found(w)).toEqual(['I8']);
    expect(w.violations[0].message).toMatch(/gfn 15/);
  });
});

describe('checkInProgress and checkBalanced', () => {
  it('checkInProgress fires only on a negative count', () => {
    const w = world();
    const c = actor(w, 'converter');
    for (const v of [0, 2]) {
      set(w, G_IN_PROGRESS, v);
      checkInProgress(c);
    }
    expect(w.violations).toEqual([]);
    set(w, G_IN_PROGRESS, -1);
    checkInProgress(c);
    expect(found(w)).toEqual(['I4']);
  });

  it('checkBalanced fires on open or extra invalidations and resets the ghost count', () => {
    const w = world();
    const c = actor(w, 'converter');
    checkBalanced(c, 'x');
    expect(w.violations).toEqual([]);
    set(w, actorWord(w.s.l, c.id, A_INSIDE), 2);
    checkBalanced(c, 'path-a');
    expect(w.violations[0].message).toMatch(/path-a.*2 invalidation\(s\) still open/);
    expect(actorW(w, c.id, A_INSIDE)).toBe(0);
    set(w, actorWord(w.s.l, c.id, A_INSIDE), -1);
    checkBalanced(c, 'path-b');
    expect(w.violations[1].message).toMatch(/1 more end/);
    expect(found(w)).toEqual(['I4', 'I4']);
    // another actor's count is not this path's business
    set(w, actorWord(w.s.l, 6, A_INSIDE), 1);
    checkBalanced(c, 'path-c');
    expect(w.violations.length).toBe(2);
  });
});

describe('quiescentSweep', () => {
  /** A private SPTE at gfn 3 (slot 0) and a shared one at gfn 20 (slot 1), mapped by real faults. */
  function busy() {
    const w = world();
    const v = actor(w, 'vcpu0');
    setAttr(w, 3, true);
    expect(fault(v, 3, true).r).toBe(RET_PF_FIXED);
    expect(fault(v, 20, false).r).toBe(RET_PF_FIXED);
    const priv = Atomics.load(w.s.i32, gfnWord(w.s.l, 3, F_SPTE_PFN)) - 1;
    const shared = Atomics.load(w.s.i32, gfnWord(w.s.l, 20, F_SPTE_PFN)) - 1;
    return { w, priv, shared };
  }
  const sweep = (w: World) => quiescentSweep(w.s).map((f) => f.invariant);

  it('is quiet on a fresh state and after real faults', () => {
    expect(quiescentSweep(world().s)).toEqual([]);
    expect(quiescentSweep(busy().w.s)).toEqual([]);
    // with gfn, file index and HVA index all different
    const w = world(CROSSED);
    const v = actor(w, 'vcpu0');
    setAttr(w, 3, true);
    expect(fault(v, 3, true).r).toBe(RET_PF_FIXED);
    expect(fault(v, 20, false).r).toBe(RET_PF_FIXED);
    expect(quiescentSweep(w.s)).toEqual([]);
    expect(w.violations).toEqual([]);
  });

  it('I4: invalidation still in progress, or an actor with one open', () => {
    const a = busy();
    set(a.w, G_IN_PROGRESS, 1);
    expect(sweep(a.w)).toEqual(['I4']);
    const b = busy();
    set(b.w, actorWord(b.w.s.l, 5, A_INSIDE), 1);
    expect(sweep(b.w)).toEqual(['I4']);
  });

  it('I1: an SPTE to a freed/recycled or removed page', () => {
    const a = busy();
    set(a.w, pfnWord(a.w.s.l, a.priv, P_GEN), 1);
    expect(sweep(a.w)).toEqual(['I1']);
    const b = busy();
    set(b.w, pfnWord(b.w.s.l, b.shared, P_OWNER), PfnOwner.Removed);
    expect(sweep(b.w)).toEqual(['I1']);
  });

  it('I2: SPTE type disagrees with the attribute', () => {
    const a = busy();
    setAttr(a.w, 3, false);
    expect(sweep(a.w)).toEqual(['I2']);
    const b = busy();
    setAttr(b.w, 20, true);
    expect(sweep(b.w)).toEqual(['I2']);
  });

  it('I8: SPTE on a slot being deleted or gone, or a private SPTE not bound to its slot', () => {
    const a = busy();
    set(a.w, slotWord(a.w.s.l, 0, S_STATE), SlotState.Invalid);
    expect(sweep(a.w)).toEqual(['I8']);
    const b = busy();
    set(b.w, slotWord(b.w.s.l, 1, S_STATE), SlotState.Absent);
    expect(sweep(b.w)).toEqual(['I8']);
    const c = busy();
    set(c.w, slotWord(c.w.s.l, 0, S_FILE), 0);
    expect(sweep(c.w)).toEqual(['I8']);
    const d = busy();
    set(d.w, d.w.s.l.bindingBase + 3, 2);
    expect(sweep(d.w)).toEqual(['I8']);
    // the shared SPTE does not care about its slot's binding
    const e = busy();
    set(e.w, slotWord(e.w.s.l, 1, S_FILE), 0);
    expect(sweep(e.w)).toEqual([]);
  });
});
