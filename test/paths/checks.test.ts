// The checkers, judged at the events the kernel paths emit: each case crafts a state through the
// shm accessors (the SPTE included, since the predicates judge the SPTE in the state), emits the
// event the kernel path emits at that moment, and reads the verdicts in w.violations. The
// quiescent sweep applies the same predicates to every unit of state.
import { describe, it, expect } from 'vitest';
import { sweepFindings } from '../../src/check/sweep.js';
import type { ActorCtx } from '../../src/engine/ctx.js';
import { kvmGmemGetPfn } from '../../src/gmem/guest_memfd.js';
import { hvaToPfn } from '../../src/kvm/hva.js';
import { RET_PF_FIXED } from '../../src/kvm/mmu.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE as PRIV, PfnOwner, SPTE_PRIVATE, SPTE_WRITABLE, SlotState } from '../../src/shm/layout.js';
import { actorInside, setActorInside } from '../../src/shm/actor.js';
import { setBinding } from '../../src/shm/file.js';
import { setGfnAttr, setSpteFlags, setSpteGen, setSptePfn, sptePfn } from '../../src/shm/gfn.js';
import { setMmuInvalidateInProgress } from '../../src/shm/kvm.js';
import { pfnGen, setPfnGen, setPfnOwner, setPfnRmap, setPfnRmapGfn } from '../../src/shm/pfn.js';
import { setSlotFile, setSlotState } from '../../src/shm/slot.js';
import { drive, world, type World } from '../helpers.js';
import { CROSSED, actor, fault, setAttr } from './util.js';

const found = (w: World) => w.violations.map((v) => v.invariant);

/** tdp_mmu_map_handle_target_level's leaf at gfn (pfn, the pfn's generation at install, flags), then the event its caller emits. */
function install(ctx: ActorCtx, gfn: number, pfn: number, gen: number, isPrivate: boolean): void {
  setSptePfn(ctx.s, gfn, pfn);
  setSpteGen(ctx.s, gfn, gen);
  setSpteFlags(ctx.s, gfn, isPrivate ? SPTE_PRIVATE | SPTE_WRITABLE : SPTE_WRITABLE);
  ctx.ev.spteInstalled(ctx, gfn);
}

/** kvm_arch_flush_shadow_memslot's end: the slot marked flushed, then the event. */
function flushed(ctx: ActorCtx, slot: number): void {
  setSlotState(ctx.s, slot, SlotState.Flushed);
  ctx.ev.slotFlushed(ctx, slot);
}

describe('SPTE installed (I1, I2, I8)', () => {
  /** A private folio at gfn 3 / index 3 and a shared HVA page at gfn 20 / hva 20, resolved but not mapped. */
  function setup() {
    const w = world();
    const v = actor(w, 'vcpu0');
    setAttr(w, 3, true);
    const priv = drive(v, kvmGmemGetPfn(v, 0, 3));
    const shared = drive(v, hvaToPfn(v, 20));
    const ok = (ctx: ActorCtx = v) => install(ctx, 3, priv, pfnGen(w.s, priv), true);
    return { w, v, priv, shared, ok };
  }

  it('is quiet on a good private and a good shared install', () => {
    const { w, v, shared, ok } = setup();
    ok();
    install(v, 20, shared, pfnGen(w.s, shared), false);
    expect(w.violations).toEqual([]);
  });

  it('I1: the pfn was freed since it was resolved (generation moved)', () => {
    const { w, v, priv } = setup();
    const gen = pfnGen(w.s, priv);
    setPfnGen(w.s, priv, gen + 1);
    install(v, 3, priv, gen, true);
    expect(found(w)).toEqual(['I1']);
    expect(w.violations[0].message).toMatch(/freed/);
  });

  it('I1: wrong owner (removed from the page cache, or an HVA page for a private install)', () => {
    const a = setup();
    setPfnOwner(a.w.s, a.priv, PfnOwner.Removed);
    a.ok();
    expect(found(a.w)).toEqual(['I1']);
    const b = setup();
    install(b.v, 3, b.shared, pfnGen(b.w.s, b.shared), true);
    expect(found(b.w)).toContain('I1');
  });

  it('I1: right owner, wrong index', () => {
    const { w, v, priv } = setup();
    install(v, 4, priv, pfnGen(w.s, priv), true); // gfn 4 is index 4; the folio is index 3's
    expect(found(w)).toContain('I1');
  });

  it('I2: a private install while the attribute is shared, and vice versa', () => {
    const a = setup();
    setAttr(a.w, 3, false);
    a.ok();
    expect(found(a.w)).toEqual(['I2']);
    const b = setup();
    setAttr(b.w, 20, true);
    install(b.v, 20, b.shared, pfnGen(b.w.s, b.shared), false);
    expect(found(b.w)).toEqual(['I2']);
  });

  it('I8: the memslot was flushed or removed; Invalid alone is allowed', () => {
    for (const [state, want] of [
      [SlotState.Flushed, ['I8']],
      [SlotState.Absent, ['I8']],
      [SlotState.Invalid, []],
    ] as const) {
      const { w, ok } = setup();
      setSlotState(w.s, 0, state);
      ok();
      expect(found(w)).toEqual(want);
    }
  });

  it('I8: private install with the slot unbound from the file, or the index bound to another slot', () => {
    const a = setup();
    setSlotFile(a.w.s, 0, 0); // kvm_gmem_unbind: the pointer and the bindings go together
    setBinding(a.w.s, 3, -1);
    a.ok();
    expect(found(a.w)).toEqual(['I8']);
    // kvm_gmem_release clears the pointer before its zap, the bindings after: an install between is zapped, not a violation
    const r = setup();
    setSlotFile(r.w.s, 0, 0);
    r.ok();
    expect(found(r.w)).toEqual([]);
    const b = setup();
    setBinding(b.w.s, 3, 1);
    b.ok();
    expect(found(b.w)).toEqual(['I8']);
  });

  it('a shared install does not need a gmem binding', () => {
    const { w, v, shared } = setup();
    setSlotFile(w.s, 1, 0);
    setBinding(w.s, 20, -1);
    install(v, 20, shared, pfnGen(w.s, shared), false);
    expect(w.violations).toEqual([]);
  });
});

describe('page leaving (I1)', () => {
  it('I1 when an SPTE still maps the page, quiet otherwise', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    v.ev.pageLeaving(v, 7, 'truncated');
    expect(w.violations).toEqual([]);
    // an SPTE at gfn 12 maps pfn 7 (the ghost reverse map knows), then pfn 7 is freed (a new generation)
    const gen = pfnGen(w.s, 7);
    setSptePfn(w.s, 12, 7);
    setSpteGen(w.s, 12, gen);
    setSpteFlags(w.s, 12, SPTE_WRITABLE);
    setPfnRmap(w.s, 7, 1);
    setPfnRmapGfn(w.s, 7, 12);
    setPfnGen(w.s, 7, gen + 1);
    v.ev.pageLeaving(v, 7, 'freed');
    expect(found(w)).toEqual(['I1']);
    expect(w.violations[0].message).toMatch(/gfn 12: SPTE maps pfn 7.*pfn 7 freed while still mapped/);
  });
});

describe('attribute stored (I2)', () => {
  it('I2 when an SPTE of the other type survives, quiet when types agree or no SPTE', () => {
    const w = world();
    const c = actor(w, 'converter');
    c.ev.attrStored(c, 4); // no SPTE
    setSptePfn(w.s, 4, 0);
    setSpteFlags(w.s, 4, SPTE_PRIVATE | SPTE_WRITABLE);
    setGfnAttr(w.s, 4, PRIV);
    c.ev.attrStored(c, 4); // agree
    expect(w.violations).toEqual([]);
    setGfnAttr(w.s, 4, 0);
    c.ev.attrStored(c, 4);
    expect(found(w)).toEqual(['I2']);
    setSpteFlags(w.s, 4, SPTE_WRITABLE);
    setGfnAttr(w.s, 4, PRIV);
    c.ev.attrStored(c, 4);
    expect(found(w)).toEqual(['I2', 'I2']);
  });
});

describe('memslot flushed (I8)', () => {
  it('I8 when an SPTE of the slot survives, quiet for other slots', () => {
    const w = world();
    const d = actor(w, 'churn');
    flushed(d, 0);
    setSptePfn(w.s, 15, 0);
    flushed(d, 1);
    expect(w.violations).toEqual([]);
    flushed(d, 0);
    expect(found(w)).toEqual(['I8']);
    expect(w.violations[0].message).toMatch(/gfn 15/);
  });
});

describe('invalidation ended and writer returned (I4)', () => {
  it('invalidate_end fires only on a negative count', () => {
    const w = world();
    const c = actor(w, 'converter');
    for (const v of [0, 2]) {
      setMmuInvalidateInProgress(w.s, v);
      c.ev.invalidateEnded(c);
    }
    expect(w.violations).toEqual([]);
    setMmuInvalidateInProgress(w.s, -1);
    c.ev.invalidateEnded(c);
    expect(found(w)).toEqual(['I4']);
  });

  it('a returning writer fires on open or extra invalidations and resets the ghost count', () => {
    const w = world();
    const c = actor(w, 'converter');
    c.ev.writerReturned(c, 'x');
    expect(w.violations).toEqual([]);
    setActorInside(w.s, c.id, 2);
    c.ev.writerReturned(c, 'path-a');
    expect(w.violations[0].message).toMatch(/path-a.*2 invalidation\(s\) still open/);
    expect(actorInside(w.s, c.id)).toBe(0);
    setActorInside(w.s, c.id, -1);
    c.ev.writerReturned(c, 'path-b');
    expect(w.violations[1].message).toMatch(/1 more end/);
    expect(found(w)).toEqual(['I4', 'I4']);
    // another actor's count is not this path's business
    setActorInside(w.s, 6, 1);
    c.ev.writerReturned(c, 'path-c');
    expect(w.violations.length).toBe(2);
  });
});

describe('sweepFindings', () => {
  /** A private SPTE at gfn 3 (slot 0) and a shared one at gfn 20 (slot 1), mapped by real faults. */
  function busy() {
    const w = world();
    const v = actor(w, 'vcpu0');
    setAttr(w, 3, true);
    expect(fault(v, 3, true).r).toBe(RET_PF_FIXED);
    expect(fault(v, 20, false).r).toBe(RET_PF_FIXED);
    const priv = sptePfn(w.s, 3);
    const shared = sptePfn(w.s, 20);
    return { w, priv, shared };
  }
  const sweep = (w: World) => sweepFindings(w.s).map((f) => f.invariant);

  it('is quiet on a fresh state and after real faults', () => {
    expect(sweepFindings(world().s)).toEqual([]);
    expect(sweepFindings(busy().w.s)).toEqual([]);
    // with gfn, file index and HVA index all different
    const w = world(CROSSED);
    const v = actor(w, 'vcpu0');
    setAttr(w, 3, true);
    expect(fault(v, 3, true).r).toBe(RET_PF_FIXED);
    expect(fault(v, 20, false).r).toBe(RET_PF_FIXED);
    expect(sweepFindings(w.s)).toEqual([]);
    expect(w.violations).toEqual([]);
  });

  it('I4: invalidation still in progress, or an actor with one open', () => {
    const a = busy();
    setMmuInvalidateInProgress(a.w.s, 1);
    expect(sweep(a.w)).toEqual(['I4']);
    const b = busy();
    setActorInside(b.w.s, 5, 1);
    expect(sweep(b.w)).toEqual(['I4']);
  });

  it('I1: an SPTE to a freed/recycled or removed page', () => {
    const a = busy();
    setPfnGen(a.w.s, a.priv, 1);
    expect(sweep(a.w)).toEqual(['I1']);
    const b = busy();
    setPfnOwner(b.w.s, b.shared, PfnOwner.Removed);
    // a removed page is nobody's to hold: the page table's reference it still has is I17's
    expect(sweep(b.w)).toEqual(['I1', 'I17']);
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
    const b = busy();
    setSlotState(b.w.s, 1, SlotState.Absent);
    expect(sweep(b.w)).toEqual(['I8']);
    const c = busy();
    setSlotFile(c.w.s, 0, 0);
    expect(sweep(c.w)).toEqual(['I8']);
    const d = busy();
    setBinding(d.w.s, 3, 1);
    expect(sweep(d.w)).toEqual(['I8']);
    // the shared SPTE does not care about its slot's binding
    const e = busy();
    setSlotFile(e.w.s, 1, 0);
    expect(sweep(e.w)).toEqual([]);
    // a slot being deleted (INVALID) at quiescence: the old sweep's verdict, last so the cases above are all checked
    const a = busy();
    setSlotState(a.w.s, 0, SlotState.Invalid);
    expect(sweep(a.w)).toEqual(['I8']);
  });
});
