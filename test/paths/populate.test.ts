// kvm_gmem_populate (SNP LAUNCH_UPDATE, TDX INIT_MEM_REGION): launch data into private pages under
// slots_lock and the invalidate lock, the private-attribute precondition (e4ee54479273), the
// return contract (the pages done, or an error), -EEXIST on 6.12/6.18; I21 with B41 and B42.
import { describe, expect, it } from 'vitest';
import { EEXIST, EINVAL } from '../../src/errno.js';
import { exploreDfs } from '../../src/explore/dfs.js';
import { explore } from '../../src/explore/explore.js';
import { kvmGmemPopulate, launchTag } from '../../src/gmem/populate.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { filemapGet } from '../../src/shm/file.js';
import { Ctr, PF_ARCH_PREPARED, PF_UPTODATE } from '../../src/shm/layout.js';
import { pfnContent, pfnFlags, pfnRef } from '../../src/shm/pfn.js';
import { slotsLock, slotsUnlock } from '../../src/sync/ops.js';
import { sweepFindings } from '../../src/check/sweep.js';
import { modelOf } from '../../src/workload/kinds.js';
import type { ActorCtx } from '../../src/engine/ctx.js';
import { BUILTIN_SCENARIOS, drive, world } from '../helpers.js';
import { counter, setAttr } from './util.js';

const POP = BUILTIN_SCENARIOS['populate']!;
const LITMUS = BUILTIN_SCENARIOS['litmus-populate']!;
const launch = (w: ReturnType<typeof world>) => w.ctxs.find((c) => c.kind === 'populate')!;
function populate(ctx: ActorCtx, gfn: number, npages: number): number {
  drive(ctx, slotsLock(ctx));
  const r = drive(ctx, kvmGmemPopulate(ctx, gfn, npages, true));
  slotsUnlock(ctx);
  return r;
}

describe('kvm_gmem_populate', () => {
  it('fills private pages with launch data, marks them uptodate and the guest\'s, and returns the pages done', () => {
    const w = world(POP);
    const l = launch(w);
    for (const g of [4, 5, 6]) setAttr(w, g, true);
    expect(populate(l, 4, 3)).toBe(3);
    for (const g of [4, 5, 6]) {
      const pfn = filemapGet(w.s, g);
      expect(pfnContent(w.s, pfn)).toBe(launchTag(g));
      expect(pfnFlags(w.s, pfn) & (PF_UPTODATE | PF_ARCH_PREPARED)).toBe(PF_UPTODATE | PF_ARCH_PREPARED);
      expect(pfnRef(w.s, pfn)).toBe(1); // the page cache's; populate put its own
    }
    expect(counter(w, l.id, Ctr.populated)).toBe(3);
    expect(sweepFindings(w.s)).toEqual([]);
    expect(w.violations).toEqual([]);
  });

  it('refuses a shared gfn (-EINVAL); past a private one it returns the count so far', () => {
    const w = world(POP);
    const l = launch(w);
    setAttr(w, 8, false);
    expect(populate(l, 8, 2)).toBe(-EINVAL);
    setAttr(w, 9, true);
    setAttr(w, 10, false);
    expect(populate(l, 9, 2)).toBe(1);
    expect(counter(w, l.id, Ctr.populateErrors)).toBe(2);
    expect(w.violations).toEqual([]);
  });

  it('6.18 refuses a folio already prepared (-EEXIST); 7.0 has no preparation tracking and populates it again', () => {
    for (const [kernel, second] of [['6.18', -EEXIST], ['7.0', 1]] as const) {
      const w = world(validateScenario({ kernel, numa: null }, POP));
      const l = launch(w);
      setAttr(w, 3, true);
      expect(populate(l, 3, 1), kernel).toBe(1);
      expect(populate(l, 3, 1), kernel).toBe(second);
      expect(w.violations, kernel).toEqual([]);
    }
  });

  it('asserts slots_lock (the vendor ioctl holds it): LOCK_HELD without it', () => {
    const w = world(POP);
    const l = launch(w);
    setAttr(w, 2, true);
    drive(l, kvmGmemPopulate(l, 2, 1, true));
    expect(w.violations.map((v) => v.invariant)).toEqual(['LOCK_HELD']);
  });

  it('I21 judges the contract, not the code: launch data written for a shared gfn, or a count that is not the pages done', () => {
    const w = world(POP);
    const l = launch(w);
    setAttr(w, 6, true);
    expect(populate(l, 6, 1)).toBe(1);
    setAttr(w, 6, false); // as if the attribute changed under post_populate
    l.ev.launchDataWritten(l, 6, filemapGet(w.s, 6));
    l.ev.populateBegan(l, 6, 4);
    l.ev.populateReturned(l, 0); // nothing written, yet no error
    setAttr(w, 6, true);
    l.ev.populateBegan(l, 6, 4);
    l.ev.launchDataWritten(l, 6, filemapGet(w.s, 6));
    l.ev.populateReturned(l, 2); // one page written, two counted
    l.ev.populateBegan(l, 5, 4);
    l.ev.launchDataWritten(l, 6, filemapGet(w.s, 6)); // gfn 6 written first of a range from gfn 5
    expect(w.violations.map((v) => v.invariant)).toEqual(['I21', 'I21', 'I21', 'I21']);
    expect(w.violations[3]!.message).toMatch(/the next is gfn 5/);
  });

  it('the correct model is quiet (litmus-populate exhaustively, populate on 300 schedules); B41 (no attribute check) is I21, B42 (no slots_lock) LOCK_HELD', () => {
    const d = exploreDfs(modelOf(LITMUS), { seed: 1, preemptions: 2, variant: null, maxSchedules: 200_000 });
    expect(d.violation).toBeNull();
    expect(d.exhausted).toBe(true);
    expect(explore(POP, { seed: 1, schedules: 300, variant: null }).violations).toEqual([]);
    for (const [variant, inv] of [['B41', 'I21'], ['B42', 'LOCK_HELD']] as const) {
      const r = exploreDfs(modelOf(LITMUS), { seed: 1, preemptions: 2, variant, maxSchedules: 200_000 });
      expect(r.violation?.invariant, variant).toBe(inv);
    }
  });

  it('is for confidential VMs only: a populate actor elsewhere is refused naming the field', () => {
    expect(() => validateScenario({ vmType: 'sw_protected' }, POP)).toThrow(/populate\.count .*vmType "coco"/);
  });
});
