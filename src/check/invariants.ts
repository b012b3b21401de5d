// The invariants: one entry each, with its id, what it guarantees, and one predicate. The
// predicate judges one unit of state (the VM's invalidation counters, an actor, an SPTE, a TLB
// entry); the same predicate is applied online, at the events that touch its unit (an SPTE
// installed, a page leaving, an attribute stored ...), and by the quiescent sweep over every unit.
// Invariants about an event rather than a state (a guest read, a placement, a WARN) judge the
// event itself. Kernel paths never call these: they emit events (engine/events.ts), and
// checker.ts subscribes the enabled invariants. Nothing here reads the run's variant.
//
// Adding an invariant: an entry here (id, description, `since`, predicate, the events it judges
// at). If no event marks the moment it needs: the event's line in engine/events.ts and the path
// that emits it.
import type { ActorCtx } from '../engine/ctx.js';
import type { EventHandler, KernelEventName } from '../engine/events.js';
import { TLB_ENTRIES, actorBase, actorInside, ownInside, tlbEntryGfn, tlbEntryPfn, tlbEntryPrivate, tlbRequestOf } from '../shm/actor.js';
import { gfnAttr, gfnEpoch, gfnZero, sptePfn, sptePrivate, spteGen } from '../shm/gfn.js';
import { mmuInvalidateInProgress } from '../shm/kvm.js';
import { GMEM_INODE_INIT_SHARED, GmemFileState, KVM_MEMORY_ATTRIBUTE_PRIVATE, PF_HWPOISON_HANDLED, PfnOwner, SlotState, ZERO_PRIVATE } from '../shm/layout.js';
import { pagePrepared, pfnFlags, pfnGen, pfnIndex, pfnOwner, pfnRef, pfnRmap, pfnRmapGfn } from '../shm/pfn.js';
import { gfnBacking, gfnToMemslot, gmemInodeFlags, kvmGmemGetIndex, kvmMemslotIsGmemOnly, memslotAllocated, memslotCovering, memslotPieces, slotBaseGfn, slotFile, slotNpages, slotState } from '../shm/slot.js';
import { bindingOf, filemapGet, gmemFileState, hostPteGet, hvaGet } from '../shm/file.js';
import type { KernelObject } from '../engine/events.js';
import type { Shm } from '../shm/state.js';
import { misplacedFolio, wrongPolicyReport } from './placement.js';
import { inPlace } from './ghost.js';
import { spCount, spHandleGen, spHandleObj, spNodeEnd, spNodePolicy, spNodeStart, spObjGen, spObjLive, spObjRef } from '../shm/sp.js';
import { spLockTryReadForCheck, spLockUnlockForCheck, spLockWriteHeld } from '../sync/ops.js';
import { EAGAIN, EIO, errnoName } from '../errno.js';
import { attrsInGmemState, gmemAttr, gmemAttrWord, hostPteClears, memAttrOfGfn } from '../shm/attr.js';
import { folioMaybeDmaPinned } from '../mm/gup.js';
import { inLruBatch } from '../mm/lru.js';
import { hugeSpteFolio, hugeSpteMixed, mixedDisagrees } from './huge.js';
import { spteLevel as spteLevelOf } from '../kvm/spte.js';
import { folioHead, folioLevel, hugeOn, pagesPerLevel } from '../shm/huge.js';

/** What a unit-of-state predicate judges: the VM (i = 0), an actor (its id), an SPTE (its gfn), a TLB entry (actor * TLB_ENTRIES + entry), a host PTE (its file index), a physical page (its pfn). */
export type Unit = 'vm' | 'actor' | 'spte' | 'tlb' | 'hostpte' | 'pfn';

export interface StatePredicate {
  unit: Unit;
  /** null when the unit is fine; `quiescent`: every actor has stopped (the sweep), so nothing may be half done */
  check(s: Shm, i: number, quiescent: boolean): string | null;
}

export interface Invariant {
  readonly description: string;
  /** the token version that first checked it: a token of an older version replays without it (explore/token.ts) */
  readonly since: number;
  /** its predicate over state, for the sweep (and for the online handlers, which call the same function) */
  readonly state?: readonly StatePredicate[];
  /** the events it judges at */
  readonly on?: { readonly [K in KernelEventName]?: EventHandler<K> };
}

const OWNER_NAMES = ['free', 'page-cache', 'hva', 'removed'];
const typeName = (priv: boolean) => (priv ? 'private' : 'shared');
const hex = (x: number) => `0x${(x >>> 0).toString(16)}`;

// ---- I1: the page an SPTE maps is still the one its memslot's geometry says, not freed since ----
function staleSpte(s: Shm, gfn: number): string | null {
  const pfn = sptePfn(s, gfn);
  if (pfn < 0) return null;
  const slot = memslotCovering(s, gfn);
  if (slot < 0) return null; // no memslot ever covered it: I8's business
  const priv = sptePrivate(s, gfn);
  const want = gfnBacking(s, slot, gfn, priv); // gmem for private, and for any SPTE of a gmem-only memslot
  const owner = pfnOwner(s, pfn);
  const freed = pfnGen(s, pfn) !== spteGen(s, gfn);
  if (!freed && owner === want.owner && pfnIndex(s, pfn) === want.index) return null;
  return `gfn ${gfn}: SPTE maps pfn ${pfn}, which is ${freed ? 'freed since it was mapped' : owner === want.owner ? `at index ${pfnIndex(s, pfn)}` : OWNER_NAMES[owner]}, not the ${want.owner === PfnOwner.PageCache ? 'page cache folio' : 'HVA page'} at index ${want.index}`;
}

/** The SPTEs mapping pfn (the ghost reverse map names the last; a stale second mapping needs a search). */
function sptesMapping(s: Shm, pfn: number): number[] {
  const last = pfnRmapGfn(s, pfn);
  if (sptePfn(s, last) === pfn) return [last];
  const out: number[] = [];
  for (let g = 0; g < s.l.nGfns; g++) if (sptePfn(s, g) === pfn) out.push(g);
  return out;
}

// ---- I2: an SPTE is private exactly when its gfn's attribute is ----
function typeMismatch(s: Shm, gfn: number): string | null {
  if (sptePfn(s, gfn) < 0) return null;
  const priv = sptePrivate(s, gfn);
  // "next": a memslot with no live file (being deleted, or its guest_memfd released) has no
  // attributes to agree with (kvm_gmem_get_memory_attributes reads 0); such an SPTE is I8's
  if (attrsInGmemState(s)) {
    const slot = gfnToMemslot(s, gfn);
    if (slot < 0 || slotFile(s, slot) === 0) return null;
  }
  const attr = (memAttrOfGfn(s, gfn) & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0;
  return priv === attr ? null : `gfn ${gfn}: ${typeName(priv)} SPTE while the attribute is ${typeName(attr)}`;
}

// ---- I8: an SPTE belongs to a live memslot, and a private one to the gmem index bound to it ----
function unboundSpte(s: Shm, gfn: number, quiescent: boolean): string | null {
  if (sptePfn(s, gfn) < 0) return null;
  const slot = memslotCovering(s, gfn);
  const st = slot < 0 ? SlotState.Absent : slotState(s, slot);
  // An INVALID slot's SPTEs are allowed until its flush (kvm_arch_flush_shadow_memslot) zaps them;
  // once every actor has stopped, no deletion is half done.
  if (st === SlotState.Flushed || st === SlotState.Absent || (quiescent && st === SlotState.Invalid)) {
    return `gfn ${gfn}: SPTE present but its memslot ${slot < 0 ? 'does not exist' : `${slot} is ${st === SlotState.Flushed ? 'flushed for deletion' : st === SlotState.Invalid ? 'being deleted' : 'deleted'}`}`;
  }
  const priv = sptePrivate(s, gfn);
  if (!priv && !kvmMemslotIsGmemOnly(s, slot)) return null; // mapped from the HVA
  const index = kvmGmemGetIndex(s, slot, gfn);
  if (bindingOf(s, index) !== slot) return `gfn ${gfn}: ${typeName(priv)} SPTE for gmem index ${index}, which is not bound to memslot ${slot}`;
  // kvm_gmem_release clears slot->gmem.file first and zaps after (erasing the bindings once the
  // zap is done), so a NULL pointer with the binding still there is a violation only once no
  // release is half done
  if (quiescent && slotFile(s, slot) === 0) return `gfn ${gfn}: ${typeName(priv)} SPTE for gmem index ${index}, but memslot ${slot} is unbound from the file`;
  return null;
}

// ---- I4: in_progress is never negative, and 0 once everyone stopped; every writer ends what it began ----
function inProgressUnbalanced(s: Shm, _i: number, quiescent: boolean): string | null {
  const v = mmuInvalidateInProgress(s);
  if (v < 0) return `mmu_invalidate_in_progress went negative (${v}): an invalidation ended that never began`;
  return quiescent && v !== 0 ? `mmu_invalidate_in_progress is ${v} at quiescence` : null;
}
function openInvalidations(s: Shm, id: number): string | null {
  const open = actorInside(s, id);
  return open === 0 ? null : `actor ${id} ended with ${open > 0 ? `${open} invalidation(s) still open` : `${-open} more end(s) than begin(s)`}`;
}

// ---- I9: no vCPU's TLB, flush not pending, translates to a page that has left ----
function staleTranslation(s: Shm, i: number): string | null {
  const actor = Math.floor(i / TLB_ENTRIES);
  const base = actorBase(s, actor);
  const gfn = tlbEntryGfn(s, base, i % TLB_ENTRIES);
  if (gfn < 0 || tlbRequestOf(s, actor) !== 0) return null; // empty, or cleared before the vCPU's next access
  const pfn = tlbEntryPfn(s, base, i % TLB_ENTRIES);
  const slot = memslotCovering(s, gfn);
  if (slot < 0) return null;
  const want = gfnBacking(s, slot, gfn, tlbEntryPrivate(s, base, i % TLB_ENTRIES));
  if (pfnOwner(s, pfn) === want.owner && pfnIndex(s, pfn) === want.index) return null;
  return `actor ${actor}'s TLB still translates gfn ${gfn} to pfn ${pfn}, which is ${OWNER_NAMES[pfnOwner(s, pfn)]} (no remote flush reached it)`;
}
/** The TLB entries translating to pfn (of vCPUs with no flush pending: the others clear theirs before their next access). */
function tlbEntriesMapping(s: Shm, pfn: number): number[] {
  const out: number[] = [];
  for (let id = 0; id < s.l.nActors; id++) {
    if (tlbRequestOf(s, id) !== 0) continue;
    const base = actorBase(s, id);
    for (let e = 0; e < TLB_ENTRIES; e++) if (tlbEntryGfn(s, base, e) >= 0 && tlbEntryPfn(s, base, e) === pfn) out.push(id * TLB_ENTRIES + e);
  }
  return out;
}

// ---- I13: a host PTE maps the file's current folio at its index (truncation unmaps first) ----
function staleHostPte(s: Shm, index: number): string | null {
  const pfn = hostPteGet(s, index);
  if (pfn < 0) return null;
  const owner = pfnOwner(s, pfn);
  if (owner === PfnOwner.PageCache && pfnIndex(s, pfn) === index && filemapGet(s, index) === pfn) return null;
  return `the host's PTE for file index ${index} maps pfn ${pfn}, which is ${owner === PfnOwner.PageCache ? `the folio at index ${pfnIndex(s, pfn)}` : OWNER_NAMES[owner]}, not the page cache's folio there (truncated while mapped)`;
}
/** The host PTE slot that may map pfn: a page-cache page is mapped only at its own index. */
const hostPteOf = (s: Shm, pfn: number): number[] => {
  const index = pfnIndex(s, pfn);
  return index >= 0 && index < s.l.filePages && hostPteGet(s, index) === pfn ? [index] : [];
};

/** The host can store to the guest's memory: a host process or a device runs, and the file's pages can be shared with it (INIT_SHARED; on "next" any page converted to shared). */
const hostMayStore = (s: Shm, sc: ActorCtx['sc']) => sc.hostUser.count + sc.pinner.count > 0 && (attrsInGmemState(s) || (gmemInodeFlags(s) & GMEM_INODE_INIT_SHARED) !== 0);

/**
 * Kernel "next": file index `index` is private and `probe` holds, both at one moment. On worker
 * threads a conversion may run between a checker's reads (the attribute, then a PTE or a pin);
 * the attribute word's store count read again tells: if it moved, the check says nothing.
 */
function privateWhile(s: Shm, index: number, probe: () => boolean, priv = true): boolean {
  const w = gmemAttrWord(s, index);
  if ((w & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0 !== priv || !probe()) return false;
  return gmemAttrWord(s, index) === w;
}

// ---- I14: the host maps only memory shared with it: an INIT_SHARED file, no gfn it backs private ----
function hostMapsPrivate(s: Shm, index: number): string | null {
  if (hostPteGet(s, index) < 0) return null;
  // "next": guest_memfd's own attributes say what is private, whatever the file was created with
  if (attrsInGmemState(s)) return privateWhile(s, index, () => hostPteGet(s, index) >= 0) ? `the host maps file index ${index}, which is private to the guest` : null;
  if ((gmemInodeFlags(s) & GMEM_INODE_INIT_SHARED) === 0) return `the host maps file index ${index} of a guest_memfd without INIT_SHARED: its memory is the guest's private memory`;
  for (const p of memslotPieces(s, 'index', index, index + 1, false)) {
    if ((gfnAttr(s, p.gfn) & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0) return `the host maps file index ${index}, which backs gfn ${p.gfn}, private to the guest`;
  }
  return null;
}

// ---- I16: no object is used after it is freed; nothing keeps a pointer to a freed memslot ----
function freedObjectUse(s: Shm, obj: KernelObject, id: number, fn: string): string | null {
  switch (obj) {
    case 'memslot':
      return memslotAllocated(s, id) ? null : `${fn} uses memslot ${id} (its gmem.file pointer) after the memslot's deletion freed it`;
    case 'gmem-file':
      return gmemFileState(s) !== GmemFileState.Freed ? null : `${fn} uses the gmem_file (its bindings) after kvm_gmem_release freed it`;
    case 'gmem-inode':
      return gmemFileState(s) !== GmemFileState.Freed ? null : `${fn} looks up page ${id} of the gmem inode after its last file reference went (the inode is evicted)`;
    case 'mempolicy': {
      const o = spHandleObj(id);
      return spObjLive(s, o) && spObjGen(s, o) === spHandleGen(id) ? null : `${fn} uses shared policy object ${o} after mpol_put freed it${spObjLive(s, o) ? ' (and it was reused for another policy)' : ''}`;
    }
  }
}
function danglingBinding(s: Shm): string | null {
  for (let i = 0; i < s.l.filePages; i++) {
    const slot = bindingOf(s, i);
    if (slot >= 0 && !memslotAllocated(s, slot)) return `the gmem file's binding at index ${i} still names memslot ${slot}, which its deletion freed`;
  }
  return null;
}

// ---- I20: the shared policy tree is a set of disjoint ranges, each naming a live policy, and each policy object is held by its node alone ----
function sharedPolicyCorrupt(s: Shm, quiescent: boolean): string | null {
  if (s.l.spNodes === 0 || spLockWriteHeld(s)) return null; // no tree, or an edit in progress
  const n = spCount(s);
  const holders = new Map<number, number>();
  let prevEnd = 0;
  for (let k = 0; k < n; k++) {
    const st = spNodeStart(s, k);
    const en = spNodeEnd(s, k);
    const o = spNodePolicy(s, k);
    if (st >= en) return `shared policy node ${k} covers [${st}, ${en}): an empty or inverted range`;
    if (st < prevEnd) return `shared policy nodes ${k - 1} and ${k} overlap (one ends at ${prevEnd}, the next starts at ${st}): sp_lookup can return either`;
    if (!spObjLive(s, o)) return `shared policy node ${k} [${st}, ${en}) names policy object ${o}, which is freed`;
    holders.set(o, (holders.get(o) ?? 0) + 1);
    prevEnd = en;
  }
  if (!quiescent) return null;
  for (let o = 0; o < s.l.spObjects; o++) {
    if (!spObjLive(s, o)) continue;
    const h = holders.get(o) ?? 0;
    const ref = spObjRef(s, o);
    if (ref !== h) return `shared policy object ${o} has ${ref} reference(s) and ${h} node(s) naming it with every actor between operations: ${ref > h ? 'a reference leaked (it can never be freed)' : 'a reference was dropped that was never taken'}`;
  }
  return null;
}

// ---- I21: kvm_gmem_populate's contract ----
/** The populate call each actor is in: its first gfn and the pages it has written so far (the checker's own count). */
const POPULATING = new WeakMap<ActorCtx, { start: number; written: number }>();
function launchDataMisplaced(s: Shm, gfn: number, pfn: number): string | null {
  if ((memAttrOfGfn(s, gfn) & KVM_MEMORY_ATTRIBUTE_PRIVATE) === 0) return `kvm_gmem_populate writes launch data for gfn ${gfn}, which is shared: it is encrypted and measured into memory the VM does not treat as private`;
  const slot = memslotCovering(s, gfn);
  const index = slot < 0 ? -1 : kvmGmemGetIndex(s, slot, gfn);
  if (index < 0 || filemapGet(s, index) !== pfn) return `kvm_gmem_populate writes launch data for gfn ${gfn} into pfn ${pfn}, which is not the file's folio at the gfn's index ${index}`;
  return null;
}

// ---- I17: page references balance: between operations a page is referenced by its holders only ----
function unbalancedRefs(s: Shm, pfn: number, quiescent: boolean): string | null {
  if (!quiescent) return null; // a path in progress holds references of its own
  const ref = pfnRef(s, pfn);
  const owner = pfnOwner(s, pfn);
  if (owner === PfnOwner.Free) return ref === 0 ? null : `free pfn ${pfn} has ${ref} reference(s)`;
  if (hugeOn(s) && folioLevel(s, pfn) > 0) return unbalancedHugeRefs(s, pfn, ref);
  const index = pfnIndex(s, pfn);
  let holders = 0;
  if (owner === PfnOwner.PageCache && filemapGet(s, index) === pfn) holders++; // the page cache's
  if (owner === PfnOwner.Hva && hvaGet(s, index) === pfn) holders++; // the VMM's page table's
  if (owner !== PfnOwner.Hva && index < s.l.filePages && hostPteGet(s, index) === pfn) holders++; // the host process's PTE
  if (attrsInGmemState(s) && inLruBatch(s, pfn)) holders++; // a CPU's LRU-add batch (modelled on "next")
  if (ref === holders) return null;
  return `pfn ${pfn} (${OWNER_NAMES[owner]}, index ${index}) has ${ref} reference(s) and ${holders} holder(s) (page cache, page table, host PTE, LRU-add batch) with every actor between operations: ${ref > holders ? 'a reference leaked (the page can never be freed)' : 'a reference was dropped that was never taken'}`;
}

// ---- I18: once memory failure has handled a poisoned page, nothing maps or touches it ----
/** I17 on a huge folio, judged at its head (its tails share the head's count): the page cache holds one reference per page it has. */
function unbalancedHugeRefs(s: Shm, pfn: number, ref: number): string | null {
  const head = folioHead(s, pfn);
  if (pfn !== head) return null;
  const nr = pagesPerLevel(s, folioLevel(s, head));
  let holders = 0;
  for (let j = 0; j < nr; j++) if (pfnOwner(s, head + j) === PfnOwner.PageCache && filemapGet(s, pfnIndex(s, head + j)) === head + j) holders++;
  if (ref === holders) return null;
  return `huge folio at pfn ${head} (${nr} pages, index ${pfnIndex(s, head)}) has ${ref} reference(s) and ${holders} holder(s) (the page cache's, one a page) with every actor between operations: ${ref > holders ? 'a reference leaked' : 'a reference was dropped that was never taken'}`;
}

const poisonHandled = (s: Shm, pfn: number) => (pfnFlags(s, pfn) & PF_HWPOISON_HANDLED) !== 0;
function poisonedSpte(s: Shm, gfn: number): string | null {
  const pfn = sptePfn(s, gfn);
  return pfn >= 0 && poisonHandled(s, pfn) ? `gfn ${gfn}: SPTE maps pfn ${pfn}, which memory failure has poisoned and handled (the guest would consume the poison)` : null;
}
function poisonedHostPte(s: Shm, index: number): string | null {
  const pfn = hostPteGet(s, index);
  return pfn >= 0 && poisonHandled(s, pfn) ? `the host's PTE for file index ${index} maps pfn ${pfn}, which memory failure has poisoned and handled` : null;
}

// ---- I19: a private SPTE maps only a page the arch prepare hook succeeded on ----
function unpreparedSpte(s: Shm, gfn: number): string | null {
  const pfn = sptePfn(s, gfn);
  if (pfn < 0 || !sptePrivate(s, gfn) || pagePrepared(s, pfn)) return null;
  return `gfn ${gfn}: private SPTE maps pfn ${pfn}, which kvm_arch_gmem_prepare has not prepared (its arch state, the SNP RMP entry, is not the guest's)`;
}

// ---- I22: private means unshared (kernel "next"): a private index's folio is neither mapped by the host nor pinned ----
function privateFolioShared(s: Shm, pfn: number): string | null {
  if (!attrsInGmemState(s) || pfn < 0 || pfnOwner(s, pfn) !== PfnOwner.PageCache) return null;
  const index = pfnIndex(s, pfn);
  if (index < 0 || index >= s.l.filePages || filemapGet(s, index) !== pfn) return null;
  if (privateWhile(s, index, () => hostPteGet(s, index) === pfn)) return `file index ${index} is private to the guest, but the host's PTE still maps its folio (pfn ${pfn})`;
  if (privateWhile(s, index, () => folioMaybeDmaPinned(s, pfn))) return `file index ${index} is private to the guest, but its folio (pfn ${pfn}, refcount ${pfnRef(s, pfn)}) is pinned for DMA: a device can still read and write it`;
  // the other side of the same guarantee: memory the host may reach is not in the guest's private arch state
  if (privateWhile(s, index, () => pagePrepared(s, pfn), false)) return `file index ${index} is shared with the host, but its folio (pfn ${pfn}) is still prepared for the guest (kvm_arch_gmem_prepare; SNP: assigned to the guest in the RMP, so a host touch faults)`;
  return null;
}
const folioAt = (s: Shm, index: number) => (index >= 0 && index < s.l.filePages ? filemapGet(s, index) : -1);

// ---- I23: the conversion ioctl's contract (kernel "next") ----
interface Converting {
  start: number;
  end: number;
  attrs: number;
  work: boolean;
  before: Int32Array;
  /** the host PTE at each index when the conversion took the lock (pfn, -1 none), and how many PTEs had been removed there */
  pte: Int32Array;
  pteClears: Int32Array;
}
const CONVERTING = new WeakMap<ActorCtx, Converting>();
function conversionBegan(ctx: ActorCtx, start: number, end: number, attrs: number, work: boolean): void {
  const s = ctx.s;
  const n = end - start;
  const c: Converting = { start, end, attrs, work, before: new Int32Array(n), pte: new Int32Array(n), pteClears: new Int32Array(n) };
  for (let k = 0; k < n; k++) {
    c.before[k] = gmemAttr(s, start + k);
    c.pte[k] = hostPteGet(s, start + k);
    c.pteClears[k] = hostPteClears(s, start + k);
  }
  CONVERTING.set(ctx, c);
}
const attrName = (a: number) => ((a & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0 ? 'private' : 'shared');
function conversionReturned(ctx: ActorCtx, r: number, errIndex: number): string | null {
  const c = CONVERTING.get(ctx);
  CONVERTING.delete(ctx);
  if (!c) return null;
  const s = ctx.s;
  const what = `KVM_SET_MEMORY_ATTRIBUTES2 of file pages [${c.start}, ${c.end}) to ${attrName(c.attrs)}`;
  for (let i = c.start; i < c.end; i++) {
    const a = gmemAttr(s, i);
    if (r === 0 && a !== c.attrs) return `${what} returned 0, but index ${i} is still ${attrName(a)}`;
    if (r < 0 && a !== c.before[i - c.start]) return `${what} returned ${errnoName(r)}, but changed index ${i} from ${attrName(c.before[i - c.start])} to ${attrName(a)} (a failed conversion changes nothing)`;
  }
  if (r === -EAGAIN && (errIndex < c.start || errIndex >= c.end)) return `${what} returned -EAGAIN with error_offset at page ${errIndex}, outside the range`;
  if ((c.attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0 && c.work) {
    for (let i = c.start; i < c.end; i++) {
      const k = i - c.start;
      // the conversion's own unmap removes it on its own thread, before it returns: a PTE that was
      // there and was never removed is the one it began with (on threads too)
      if (c.pte[k] >= 0 && hostPteClears(s, i) === c.pteClears[k] && hostPteGet(s, i) >= 0) {
        return `${what} returned ${r === 0 ? 0 : errnoName(r)} with the host's PTE at index ${i} (pfn ${c.pte[k]}) still the one there when it began: a conversion to private unmaps the host's mappings itself, and refuses only for references it cannot remove`;
      }
    }
  }
  return null;
}

/** Judge one unit online (not quiescent): report what is wrong with it as `id`; true if something was. */
function judge(ctx: ActorCtx, id: InvariantId, pred: (s: Shm, i: number, q: boolean) => string | null, unit: number, why = ''): boolean {
  const m = pred(ctx.s, unit, false);
  if (m) ctx.report(id, why ? `${m} (${why})` : m);
  return m !== null;
}

/** The gfns of the leaf SPTE covering gfn: itself for a 4K leaf, every gfn of a huge one (an install judges them all). */
function leafGfns(s: Shm, gfn: number): readonly number[] {
  const level = hugeOn(s) ? spteLevelOf(s, gfn) : 0;
  if (level === 0) return [gfn];
  const nr = pagesPerLevel(s, level);
  const base = gfn - (gfn % nr);
  return Array.from({ length: nr }, (_, i) => base + i);
}

/** The first of the units something is wrong with, reported. */
function judgeAll(ctx: ActorCtx, id: InvariantId, pred: (s: Shm, i: number, q: boolean) => string | null, units: readonly number[], why = ''): void {
  for (const i of units) if (judge(ctx, id, pred, i, why)) return;
}

// ---- DATA and I7: what the guest reads back ----
interface GuestMemory {
  lo: number;
  expTag: Int32Array;
  expEpoch: Int32Array;
  /** ZERO_PRIVATE / ZERO_SHARED: which view the expectation was written through; 0 = none */
  expView: Uint8Array;
}
const GUEST = new WeakMap<ActorCtx, GuestMemory>();

export const INVARIANTS = {
  I1: {
    description: 'no stale pfn: every SPTE maps the page backing its gfn (the gmem folio for private and gmem-only memslots, else the HVA page), not freed or removed since',
    since: 1,
    state: [{ unit: 'spte', check: staleSpte }],
    on: {
      spteInstalled: (ctx, gfn) => judgeAll(ctx, 'I1', staleSpte, leafGfns(ctx.s, gfn), 'just installed'),
      pageLeaving: (ctx, pfn, why) => {
        if (pfnRmap(ctx.s, pfn) > 0) judgeAll(ctx, 'I1', staleSpte, sptesMapping(ctx.s, pfn), `pfn ${pfn} ${why} while still mapped`);
      },
    },
  },
  I3: {
    description: 'huge-page consistency: no huge SPTE spans gfns whose attributes differ (a conversion widens its invalidation to the huge pages it changes in part, and KVM_LPAGE_MIXED_FLAG keeps faults at 4K over mixed ones); judged when an SPTE is installed, when an attribute is stored, and at sweeps',
    since: 2,
    state: [{ unit: 'spte', check: (s, gfn) => hugeSpteMixed(s, gfn) }],
    on: {
      spteInstalled: (ctx, gfn) => judge(ctx, 'I3', (s, g) => hugeSpteMixed(s, g, true), gfn, 'just installed'),
      attrStored: (ctx, gfn) => judge(ctx, 'I3', (s, g) => hugeSpteMixed(s, g, true), gfn, 'survives the attribute store'),
    },
  },
  I2: {
    description: "type agreement: an SPTE is private exactly when its gfn's attribute is private (on kernel \"next\" guest_memfd's attribute for the gfn's index; a memslot with no live file has none to agree with)",
    since: 1,
    state: [{ unit: 'spte', check: typeMismatch }],
    on: {
      spteInstalled: (ctx, gfn) => judgeAll(ctx, 'I2', typeMismatch, leafGfns(ctx.s, gfn), 'just installed'),
      attrStored: (ctx, gfn) => judge(ctx, 'I2', typeMismatch, gfn, 'survives the attribute store'),
    },
  },
  I4: {
    description: 'balanced invalidations: in_progress never negative, every begun invalidation ends, zero at quiescence',
    since: 1,
    state: [
      { unit: 'vm', check: inProgressUnbalanced },
      { unit: 'actor', check: (s, id) => openInvalidations(s, id) },
    ],
    on: {
      invalidateEnded: (ctx) => judge(ctx, 'I4', inProgressUnbalanced, 0),
      writerReturned: (ctx, path) => {
        const open = ownInside(ctx.s, ctx.base);
        if (open !== 0) ctx.report('I4', `${path} returned with ${open > 0 ? `${open} invalidation(s) still open` : `${-open} more end(s) than begin(s)`}`);
      },
    },
  },
  I5: {
    description: 'range covers: an open invalidation has a range before anything can look at it (the kernel WARNs otherwise)',
    since: 1,
    on: { rangeWarn: (ctx, message) => ctx.report('I5', message) },
  },
  I7: {
    description: 'punch-hole zeroes: after a punch (or shared discard) the guest reads zeroes until it writes',
    since: 1,
    on: {
      guestRead: (ctx, gfn, pfn, view, value) => {
        if ((gfnZero(ctx.s, gfn) & view) !== 0 && value !== 0) {
          ctx.report('I7', `vCPU ${ctx.index}: gfn ${gfn} reads ${hex(value)} through its ${view === ZERO_PRIVATE ? 'private' : 'shared'} view after a punch/discard (expected zeroes), pfn ${pfn}`);
        }
      },
    },
  },
  I8: {
    description: 'binding validity: no SPTE for a deleted memslot or for a gmem index not bound to its slot',
    since: 1,
    state: [{ unit: 'spte', check: unboundSpte }],
    on: {
      spteInstalled: (ctx, gfn) => judgeAll(ctx, 'I8', unboundSpte, leafGfns(ctx.s, gfn), 'just installed'),
      slotFlushed: (ctx, slot) => {
        for (let g = slotBaseGfn(ctx.s, slot), end = g + slotNpages(ctx.s, slot); g < end; g++) if (judge(ctx, 'I8', unboundSpte, g, `survives the flush of memslot ${slot}`)) return;
      },
    },
  },
  I9: {
    description: "TLB: no page is freed or removed while a vCPU's TLB still translates to it (the remote flush reached every vCPU first)",
    since: 1,
    state: [{ unit: 'tlb', check: staleTranslation }],
    on: { pageLeaving: (ctx, pfn, why) => judgeAll(ctx, 'I9', staleTranslation, tlbEntriesMapping(ctx.s, pfn), `pfn ${pfn} ${why}`) },
  },
  I11: {
    description: 'placement: a gmem folio lands on a node the policy in force at its file offset allows (bind mask, preferred or interleave node unless it was full)',
    since: 1,
    on: {
      folioAllocated: (ctx, index, pfn, ilPrev) => {
        const m = misplacedFolio(ctx, index, pfn, ilPrev);
        if (m) ctx.report('I11', m);
      },
    },
  },
  I12: {
    description: 'policy report: get_mempolicy(MPOL_F_ADDR) on the gmem mapping reports the policy the last mbind set at that offset, MPOL_DEFAULT where none did (never the task policy)',
    since: 1,
    on: {
      policyReported: (ctx, index, report) => {
        const m = wrongPolicyReport(ctx, index, report);
        if (m) ctx.report('I12', m);
      },
    },
  },
  DATA: {
    description: 'data integrity: what a vCPU wrote it reads back unless the page was punched or converted since (on kernel "next" a gmem-only memslot converts in place: the content stays, through either view)',
    since: 1,
    on: {
      guestRegion: (ctx, lo, hi) => GUEST.set(ctx, { lo, expTag: new Int32Array(hi - lo), expEpoch: new Int32Array(hi - lo), expView: new Uint8Array(hi - lo) }),
      guestWrite: (ctx, gfn, view, tag) => {
        const g = GUEST.get(ctx);
        if (!g) return;
        const i = gfn - g.lo;
        g.expTag[i] = tag;
        g.expEpoch[i] = gfnEpoch(ctx.s, gfn);
        g.expView[i] = view;
      },
      guestRead: (ctx, gfn, pfn, view, value) => {
        const g = GUEST.get(ctx);
        // gfns: shared, another vCPU may have written it since; on worker threads (ctx.clock) a
        // host process that can store to the mapping may have, its store and its event being two
        // steps there (under sim they are one, and the event moves the epoch); a read through a
        // punched view is I7's
        if (!g || ctx.sc.vcpus.gfns === 'shared' || (ctx.clock && hostMayStore(ctx.s, ctx.sc)) || (gfnZero(ctx.s, gfn) & view) !== 0) return;
        const i = gfn - g.lo;
        // in place ("next", gmem-only), what was written through one view is read through the other
        if ((g.expView[i] === view || inPlace(ctx.s, gfn)) && g.expEpoch[i] === gfnEpoch(ctx.s, gfn) && value !== g.expTag[i]) {
          ctx.report('DATA', `vCPU ${ctx.index}: gfn ${gfn} reads ${hex(value)}, wrote ${hex(g.expTag[i])} and nothing legitimately changed it since, pfn ${pfn}`);
        }
      },
    },
  },
  DEADLOCK: {
    description: 'no deadlock: some actor can always make progress',
    since: 1,
  },
  STARVATION: {
    description: "no starvation: a fault is not retried more than the scenario's bound in a row",
    since: 1,
    on: { starved: (ctx, gfn, retries, reason) => ctx.report('STARVATION', `vCPU ${ctx.index}: fault on gfn ${gfn} retried ${retries} times in a row with no writer at work (last: ${reason})`) },
  },
  LOCK_ORDER: {
    description: 'lock order (lockdep): every run takes its locks in one global order, so no cycle of "held while taking" exists even in a run that did not deadlock; no lock is taken twice',
    since: 2,
  },
  LOCK_HELD: {
    description: 'lock assertions (lockdep): a function that requires a lock runs with it held (lockdep_assert_held), nothing is released that is not held, and no lock is held between operations or when an actor\'s program returns',
    since: 2,
  },
  I13: {
    description: "host mappings follow the file: a PTE of the host's mapping of the guest_memfd maps the page cache's folio at its index; truncation unmaps it before the folio leaves",
    since: 2,
    state: [{ unit: 'hostpte', check: staleHostPte }],
    on: {
      hostPteInstalled: (ctx, index) => judge(ctx, 'I13', staleHostPte, index, 'just installed'),
      hostAccess: (ctx, index) => judge(ctx, 'I13', staleHostPte, index, 'the host accesses it'),
      pageLeaving: (ctx, pfn, why) => judgeAll(ctx, 'I13', staleHostPte, hostPteOf(ctx.s, pfn), `pfn ${pfn} ${why} while the host maps it`),
    },
  },
  I14: {
    description: 'private means private, host side: the host never maps or touches guest_memfd memory not shared with it (a file without INIT_SHARED, or a page backing a private gfn; on kernel "next" a file index guest_memfd\'s own attributes say is private)',
    since: 2,
    state: [{ unit: 'hostpte', check: hostMapsPrivate }],
    on: {
      hostPteInstalled: (ctx, index) => judge(ctx, 'I14', hostMapsPrivate, index, 'just mapped'),
      hostAccess: (ctx, index, pfn, write) => {
        // "next": the access itself, whatever the PTE says now (an unmap's shootdown waits for an
        // access in flight, so a conversion cannot complete under it)
        if (attrsInGmemState(ctx.s) && index < ctx.s.l.filePages && filemapGet(ctx.s, index) === pfn && privateWhile(ctx.s, index, () => true)) {
          ctx.report('I14', `the host ${write ? 'writes' : 'reads'} file index ${index} (pfn ${pfn}), which is private to the guest`);
        } else judge(ctx, 'I14', hostMapsPrivate, index, write ? 'the host writes it' : 'the host reads it');
      },
      attrStored: (ctx, gfn) => {
        const slot = memslotCovering(ctx.s, gfn);
        if (slot >= 0) judge(ctx, 'I14', hostMapsPrivate, kvmGmemGetIndex(ctx.s, slot, gfn), 'converted while the host maps it');
      },
    },
  },
  I15: {
    description: "KVM_PRE_FAULT_MEMORY's contract: a call that made progress returns 0 with the range advanced past what it mapped, one that made none fails with the range untouched, and none reports -EIO (the kernel's WARN for a fault result kvm_tdp_map_page does not expect)",
    since: 2,
    on: {
      preFaultReturned: (ctx, r, before, after) => {
        const progressed = after < before;
        if (r === -EIO) ctx.report('I15', `KVM_PRE_FAULT_MEMORY returned -EIO (WARN: unexpected fault result), ${before - after} of ${before} pages done`);
        else if (after > before || progressed !== (r === 0)) ctx.report('I15', `KVM_PRE_FAULT_MEMORY returned ${r < 0 ? errnoName(r) : r} with ${before - after} of ${before} pages done (progress must return 0, no progress an error)`);
      },
    },
  },
  I16: {
    description: 'object lifetimes: no path uses a memslot, the gmem file or its inode after it is freed, and no binding of the file names a freed memslot',
    since: 2,
    state: [{ unit: 'vm', check: (s) => danglingBinding(s) }],
    on: {
      objectUsed: (ctx, obj, id, fn) => {
        const m = freedObjectUse(ctx.s, obj, id, fn);
        if (m) ctx.report('I16', m);
      },
    },
  },
  I17: {
    description: 'page references balance: with every actor between operations, each page is referenced exactly by its holders (the page cache, the VMM\'s page table, a host PTE, on kernel "next" a CPU\'s LRU-add batch) and a free page by nobody: no path leaks or over-drops a reference',
    since: 2,
    state: [{ unit: 'pfn', check: unbalancedRefs }],
  },
  I18: {
    description: 'memory failure: once memory_failure has handled a poisoned guest_memfd page, no SPTE or host PTE maps it and neither the guest nor the host touches it (the next fault gets -EHWPOISON or SIGBUS)',
    since: 2,
    state: [
      { unit: 'spte', check: poisonedSpte },
      { unit: 'hostpte', check: poisonedHostPte },
    ],
    on: {
      spteInstalled: (ctx, gfn) => judge(ctx, 'I18', poisonedSpte, gfn, 'just installed'),
      hostPteInstalled: (ctx, index) => judge(ctx, 'I18', poisonedHostPte, index, 'just installed'),
      memoryFailureHandled: (ctx, pfn) => {
        if (pfnRmap(ctx.s, pfn) > 0) judgeAll(ctx, 'I18', poisonedSpte, sptesMapping(ctx.s, pfn), 'still mapped when memory_failure returned');
        judgeAll(ctx, 'I18', poisonedHostPte, hostPteOf(ctx.s, pfn), 'still mapped when memory_failure returned');
      },
      guestRead: (ctx, gfn, pfn) => {
        if (poisonHandled(ctx.s, pfn)) ctx.report('I18', `vCPU ${ctx.index} reads gfn ${gfn} from pfn ${pfn}, which memory failure has poisoned and handled`);
      },
      hostAccess: (ctx, index, pfn) => {
        if (poisonHandled(ctx.s, pfn)) ctx.report('I18', `the host touches file index ${index} at pfn ${pfn}, which memory failure has poisoned and handled`);
      },
    },
  },
  I19: {
    description: 'prepared before mapped: a private SPTE maps only a page on which the arch prepare hook (kvm_arch_gmem_prepare) succeeded since the page was allocated',
    since: 2,
    state: [{ unit: 'spte', check: unpreparedSpte }],
    on: { spteInstalled: (ctx, gfn) => judgeAll(ctx, 'I19', unpreparedSpte, leafGfns(ctx.s, gfn), 'just installed') },
  },
  I20: {
    description: 'shared policy integrity: outside a write section the gmem inode\'s policy tree holds disjoint, non-empty ranges, each naming a live policy; with every actor between operations each policy object is referenced exactly by the nodes naming it (no mbind leaks or over-drops one)',
    since: 2,
    state: [{ unit: 'vm', check: (s, _i, q) => sharedPolicyCorrupt(s, q) }],
    on: {
      mbindReturned: (ctx) => {
        // on threads another mbind may be editing: judge only while holding the read side (skip if a writer has it)
        if (!spLockTryReadForCheck(ctx.s)) return;
        const m = sharedPolicyCorrupt(ctx.s, false);
        spLockUnlockForCheck(ctx.s);
        if (m) ctx.report('I20', `after an mbind returned: ${m}`);
      },
    },
  },
  I21: {
    description: 'kvm_gmem_populate\'s contract: launch data is written only into private memory, page after page of the range asked for (when post_populate copies it the gfn is the next of the range, private, and the page is the file\'s folio at the gfn\'s index), and populate returns the pages it populated, or an error if none',
    since: 2,
    on: {
      populateBegan: (ctx, startGfn) => POPULATING.set(ctx, { start: startGfn, written: 0 }),
      launchDataWritten: (ctx, gfn, pfn) => {
        const p = POPULATING.get(ctx);
        const m = p && gfn !== p.start + p.written ? `kvm_gmem_populate writes launch data for gfn ${gfn}, but the call began at gfn ${p.start} and has written ${p.written} page(s): the next is gfn ${p.start + p.written}` : launchDataMisplaced(ctx.s, gfn, pfn);
        if (p) p.written++;
        if (m) ctx.report('I21', m);
      },
      populateReturned: (ctx, r) => {
        const done = POPULATING.get(ctx)?.written ?? 0;
        POPULATING.delete(ctx);
        if (done > 0 ? r !== done : r >= 0) ctx.report('I21', `kvm_gmem_populate returned ${r < 0 ? errnoName(r) : r} having populated ${done} page(s) (it must return the count when it made progress, an error when it made none)`);
      },
    },
  },
  I22: {
    description: 'private means unshared (kernel "next", attributes in guest_memfd): a folio at a private index is neither mapped by the host nor pinned (GUP) for a device, and one at a shared index is not in the guest\'s private arch state (prepared: SNP\'s RMP); judged when an index changes type, when the host maps or pins, when a device touches a page, when a page is prepared, and at sweeps',
    since: 2,
    state: [{ unit: 'pfn', check: privateFolioShared }],
    on: {
      gmemAttrStored: (ctx, index) => judge(ctx, 'I22', privateFolioShared, folioAt(ctx.s, index), `just made ${attrName(gmemAttr(ctx.s, index))}`),
      folioPrepared: (ctx, pfn) => judge(ctx, 'I22', privateFolioShared, pfn, 'just prepared'),
      hostPteInstalled: (ctx, index) => judge(ctx, 'I22', privateFolioShared, folioAt(ctx.s, index), 'the host just mapped it'),
      folioPinned: (ctx, _index, pfn) => judge(ctx, 'I22', privateFolioShared, pfn, 'just pinned'),
      dmaAccess: (ctx, _index, pfn, write) => judge(ctx, 'I22', privateFolioShared, pfn, write ? 'a device writes it' : 'a device reads it'),
    },
  },
  I23: {
    description: 'the conversion ioctl\'s contract (KVM_SET_MEMORY_ATTRIBUTES2, kernel "next"): 0 means every page of the range has the attributes asked for, an error means no page changed, -EAGAIN names a page inside the range, and a conversion to private never returns leaving in place a host PTE that was there when it began (it unmaps them itself)',
    since: 2,
    on: {
      gmemSetAttrsBegan: conversionBegan,
      gmemSetAttrsReturned: (ctx, r, errIndex) => {
        const m = conversionReturned(ctx, r, errIndex);
        if (m) ctx.report('I23', m);
      },
    },
  },
  I24: {
    description: 'MIXED tracking: with no attribute change under way, each huge page wholly inside a memslot has KVM_LPAGE_MIXED_FLAG set exactly when its attributes are not uniform (the post phase of KVM_SET_MEMORY_ATTRIBUTES recomputes it); judged when a conversion is done, under slots_lock, and at sweeps',
    since: 2,
    state: [{ unit: 'vm', check: (s) => mixedDisagrees(s, 0, s.l.nGfns) }],
    on: {
      memAttrsSet: (ctx, start, end) => {
        const m = mixedDisagrees(ctx.s, start, end);
        if (m) ctx.report('I24', `${m} (KVM_SET_MEMORY_ATTRIBUTES on gfns ${start}..${end - 1} just finished)`);
      },
    },
  },
  I25: {
    description: 'huge SPTE backing: a huge SPTE maps one folio at least its size, from a page aligned to the mapping, each gfn onto the next page (no split folio or mix of folios under a huge mapping); judged when an SPTE is installed and at sweeps',
    since: 2,
    state: [{ unit: 'spte', check: (s, gfn) => hugeSpteFolio(s, gfn) }],
    on: {
      spteInstalled: (ctx, gfn) => judge(ctx, 'I25', (s, g) => hugeSpteFolio(s, g, true), gfn, 'just installed'),
    },
  },
} satisfies Record<string, Invariant>;


export type InvariantId = keyof typeof INVARIANTS;
export const INVARIANT_IDS = Object.keys(INVARIANTS) as InvariantId[];
export const invariantIndex = (id: InvariantId) => INVARIANT_IDS.indexOf(id);
export const describeInvariant = (id: InvariantId) => INVARIANTS[id].description;
/** The invariants a token of format version v checked (those since v or earlier). */
/** the invariants with a predicate over state: what a quiescent sweep judges */
export const SWEPT_INVARIANTS: readonly InvariantId[] = INVARIANT_IDS.filter((id) => ((INVARIANTS as Record<InvariantId, Invariant>)[id].state?.length ?? 0) > 0);
export const invariantsOfVersion = (v: number) => INVARIANT_IDS.filter((id) => INVARIANTS[id].since <= v);
