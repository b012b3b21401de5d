// Huge pages (issue 14): off by default with no words in the state; THP folios, 2M SPTEs, the
// zap of a huge leaf whole, lpage_info's shape rules and MIXED tracking, the split of a partly
// punched folio; and each new invariant quiet on the correct model and fired by a variant.
import { describe, expect, it } from 'vitest';
import { drive, world, BUILTIN_SCENARIOS, DEFAULT_SCENARIO } from '../helpers.js';
import { fault } from './util.js';
import { explore } from '../../src/explore/explore.js';
import { validateScenario, ScenarioError } from '../../src/scenario/schema.js';
import { HUGEPAGES_NONE, type Scenario } from '../../src/scenario/types.js';
import { createShm } from '../../src/shm/state.js';
import { folioHead, folioLevel, hugetlbSpoolFree, lpageMixed, lpageWord, lpageDisallow } from '../../src/shm/huge.js';
import { kvmGmemSetAttributes } from '../../src/gmem/attributes.js';
import { spteLevel } from '../../src/kvm/spte.js';
import { sptePfn, setGfnAttr } from '../../src/shm/gfn.js';
import { kvmVmSetMemAttributes } from '../../src/kvm/memory_attributes.js';
import { kvmGmemPunchHole } from '../../src/gmem/guest_memfd.js';
import { filemapGet } from '../../src/shm/file.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, LPAGE_MISALIGNED } from '../../src/shm/layout.js';
import { hugeSpteFolio, hugeSpteMixed, mixedDisagrees } from '../../src/check/huge.js';

const THP = { gmem: 'thp', pages2m: 4, pages1g: 16, maxLevel: '2m' } as const;
/** One vCPU on one 8-page hybrid memslot of a 6.18 SW_PROTECTED VM, all private, THP folios of 4 pages. */
const SC: Scenario = { ...BUILTIN_SCENARIOS['litmus-huge-convert']!, converter: { count: 0, ops: 0, maxPages: 1 } };
const PRIV = KVM_MEMORY_ATTRIBUTE_PRIVATE;

function privateWorld() {
  const w = world(SC);
  for (let g = 0; g < 8; g++) setGfnAttr(w.s, g, PRIV);
  // the MIXED flags as the conversion's post phase would have left them
  drive(w.ctxs[1]!, kvmVmSetMemAttributes(w.ctxs[1]!, 0, 8, 0));
  drive(w.ctxs[1]!, kvmVmSetMemAttributes(w.ctxs[1]!, 0, 8, PRIV));
  return w;
}

describe('huge pages off (the default): the model before issue 14', () => {
  it('a scenario without the field validates to none, and the state has no huge-page words', () => {
    const { hugepages: _, ...old } = DEFAULT_SCENARIO;
    const sc = validateScenario({ ...old, name: 'old' });
    expect(sc.hugepages).toEqual(HUGEPAGES_NONE);
    const s = createShm(sc, 8);
    expect(s.l.hugePages2m).toBe(0);
    expect(s.l.lpageEntries).toBe(0);
    expect(s.l.hugeStackBase).toBe(s.l.folioBase); // both regions empty
  });

  it('bad huge-page fields are refused naming the field', () => {
    const bad = (h: unknown, field: string) => {
      const e = (() => {
        try {
          validateScenario({ ...SC, hugepages: h });
        } catch (x) {
          return x;
        }
        return null;
      })();
      expect(e).toBeInstanceOf(ScenarioError);
      expect((e as ScenarioError).field).toBe(field);
    };
    bad({ ...THP, pages2m: 6 }, 'hugepages.pages2m');
    bad({ ...THP, pages1g: 4 }, 'hugepages.pages1g');
    bad({ ...THP, gmem: 'hugetlb' }, 'hugepages.gmem');
    expect(() => validateScenario({ ...SC, kernel: 'next', gmemFlags: ['mmap', 'init_shared'], hugepages: THP })).toThrow(/hugepages.gmem/);
    expect(() => validateScenario({ ...SC, hostUser: { count: 1, ops: 1, maxPages: 1 }, gmemFlags: ['mmap'], hugepages: THP })).toThrow(/hostUser.count/);
  });
});

describe('THP folios and 2M mappings', () => {
  it('a private fault allocates one 2M folio for the aligned range and maps it with one 2M leaf', () => {
    const w = privateWorld();
    const { r } = fault(w.ctxs[0]!, 1, true);
    expect(r).toBe(0);
    const pfn = filemapGet(w.s, 1);
    expect(folioLevel(w.s, pfn)).toBe(1);
    for (let g = 0; g < 4; g++) {
      expect(spteLevel(w.s, g)).toBe(1);
      expect(sptePfn(w.s, g)).toBe(folioHead(w.s, pfn) + g);
    }
    expect(sptePfn(w.s, 4)).toBe(-1);
    expect(hugeSpteFolio(w.s, 0)).toBeNull();
    expect(hugeSpteMixed(w.s, 0)).toBeNull();
  });

  it('a conversion of one page zaps the 2M leaf whole, marks the huge page MIXED, and the refault maps 4K', () => {
    const w = privateWorld();
    fault(w.ctxs[0]!, 0, true);
    drive(w.ctxs[1]!, kvmVmSetMemAttributes(w.ctxs[1]!, 2, 3, 0));
    for (let g = 0; g < 4; g++) expect(sptePfn(w.s, g), `gfn ${g}`).toBe(-1);
    expect(lpageMixed(w.s, lpageWord(w.s, 0, 0, 0, 1))).toBe(true);
    expect(mixedDisagrees(w.s, 0, 8)).toBeNull();
    fault(w.ctxs[0]!, 0, true);
    expect(spteLevel(w.s, 0)).toBe(0);
    expect(sptePfn(w.s, 1)).toBe(-1);
    // converted back: MIXED clears and the next fault maps 2M again
    drive(w.ctxs[1]!, kvmVmSetMemAttributes(w.ctxs[1]!, 2, 3, PRIV));
    expect(lpageMixed(w.s, lpageWord(w.s, 0, 0, 0, 1))).toBe(false);
    fault(w.ctxs[0]!, 1, true);
    expect(spteLevel(w.s, 1)).toBe(1);
  });

  it('a punch of one page zaps the 2M leaf and splits the folio: the other pages stay, 4K', () => {
    const w = privateWorld();
    fault(w.ctxs[0]!, 0, true);
    const head = filemapGet(w.s, 0);
    const puncher = w.ctxs.find((c) => c.kind === 'puncher') ?? w.ctxs[1]!;
    expect(drive(puncher, kvmGmemPunchHole(puncher, 2, 3))).toBe(0);
    expect(sptePfn(w.s, 0)).toBe(-1);
    expect(filemapGet(w.s, 2)).toBe(-1);
    expect(filemapGet(w.s, 0)).toBe(head);
    expect(filemapGet(w.s, 3)).toBe(head + 3);
    expect(folioLevel(w.s, head)).toBe(0);
    expect(w.violations).toEqual([]);
  });

  it('lpage_info: a memslot whose gfns and file offsets disagree in the low bits allows no huge page', () => {
    const sc = validateScenario(BUILTIN_SCENARIOS['hugepages-misaligned']!);
    const s = createShm(sc, 8);
    expect(lpageDisallow(s, lpageWord(s, 0, 0, 0, 1))).toBe(0);
    expect(lpageDisallow(s, lpageWord(s, 1, 16, 16, 1)) & LPAGE_MISALIGNED).not.toBe(0);
  });
});

describe('hugetlb-backed guest_memfd (the 1G RFC) on kernel "next"', () => {
  // one vCPU, a converter, a PFN walker; a 4-page file = one hugetlb "2M" page, INIT_SHARED
  const HSC: Scenario = BUILTIN_SCENARIOS['litmus-huge-inplace']!;
  const vmm = (w: ReturnType<typeof world>) => w.ctxs[1]!;

  it('the file reserves its huge pages at creation; a fault in a shared range gets 4K pieces of one hugetlb page', () => {
    const w = world(HSC);
    expect(hugetlbSpoolFree(w.s)).toBe(1);
    const { r } = fault(w.ctxs[0]!, 1, false);
    expect(r).toBe(0);
    expect(hugetlbSpoolFree(w.s)).toBe(0);
    const p1 = filemapGet(w.s, 1);
    expect(folioLevel(w.s, p1)).toBe(0);
    for (let i = 0; i < 4; i++) expect(filemapGet(w.s, i)).toBe(p1 - 1 + i);
    expect(spteLevel(w.s, 1)).toBe(0);
  });

  it('to private merges the pieces into one huge folio, mapped 2M; a page back to shared splits it and zaps the mapping', () => {
    const w = world(HSC);
    fault(w.ctxs[0]!, 0, false);
    expect(drive(vmm(w), kvmGmemSetAttributes(vmm(w), 0, 4, PRIV)).r).toBe(0);
    const head = filemapGet(w.s, 0);
    expect(folioLevel(w.s, head)).toBe(1);
    fault(w.ctxs[0]!, 2, true);
    expect(spteLevel(w.s, 0)).toBe(1);
    expect(drive(vmm(w), kvmGmemSetAttributes(vmm(w), 3, 1, 0)).r).toBe(0);
    expect(folioLevel(w.s, head)).toBe(0);
    for (let g = 0; g < 4; g++) expect(sptePfn(w.s, g)).toBe(-1);
    fault(w.ctxs[0]!, 2, true);
    expect(spteLevel(w.s, 2)).toBe(0);
    expect(w.violations).toEqual([]);
  });
});

describe('the huge-page invariants: quiet on the correct model, fired by a variant', () => {
  const campaign = (name: string, variant: string | null, schedules = 300) => explore(BUILTIN_SCENARIOS[name]!, { seed: 1, schedules, variant: variant as never });

  it.each(['litmus-huge-convert', 'litmus-huge-punch', 'hugepages-2m', 'hugepages-misaligned', 'litmus-huge-inplace', 'hugepages-2m-inplace'])('%s: the correct model is quiet and maps 2M', (name) => {
    const r = campaign(name, null);
    expect(r.violations).toEqual([]);
    if (name !== 'hugepages-misaligned') expect(r.stats.total.installs2m).toBeGreaterThan(0);
    expect(r.stats.total.hugeFolios).toBeGreaterThan(0);
  });

  it('hugepages-1g-inplace: quiet, maps 1G, splits and merges, and some restructuring waits for a reference', () => {
    const r = campaign('hugepages-1g-inplace', null, 400);
    expect(r.violations).toEqual([]);
    expect(r.stats.total.installs1g).toBeGreaterThan(0);
    expect(r.stats.total.folioSplits).toBeGreaterThan(0);
    expect(r.stats.total.folioMerges).toBeGreaterThan(0);
    expect(r.stats.total.freezeSpins).toBeGreaterThan(0);
  });

  it.each([
    ['I3', 'B51', 'litmus-huge-convert'],
    ['I24', 'B13', 'litmus-huge-convert'],
  ])('%s fires under %s on %s', (inv, variant, name) => {
    const r = campaign(name, variant, 400);
    expect(r.violations.map((v) => v.invariant)).toEqual([inv]);
  });

  it('I25 fires under B54 (a 4K folio mapped 2M), which I19 otherwise reports first on a coco VM', () => {
    const r = explore(BUILTIN_SCENARIOS['hugepages-2m']!, { seed: 1, schedules: 400, variant: 'B54', invariants: ['I25'] });
    expect(r.violations.map((v) => v.invariant)).toEqual(['I25']);
    expect(r.violations[0]!.message).toMatch(/2M SPTE .* folio is 4K/);
  });

  it('a coco VM maps private memory at most 2M (the RMP\'s largest page), a SW_PROTECTED one 1G', () => {
    const coco = explore({ ...BUILTIN_SCENARIOS['hugepages-1g-inplace']!, vmType: 'coco' }, { seed: 1, schedules: 200, variant: null });
    expect(coco.violations).toEqual([]);
    expect(coco.stats.total.installs1g).toBe(0);
    expect(coco.stats.total.installs2m).toBeGreaterThan(0);
  });
});
