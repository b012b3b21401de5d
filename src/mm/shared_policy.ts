// The per-inode shared memory policy of a guest_memfd (`struct shared_policy`, mm/mempolicy.c),
// and a small model of mbind()/get_mempolicy(MPOL_F_ADDR) on one mmap of the gmem file.
//
// Kernel shape: an rb-tree of `sp_node {start, end, policy}`, half-open page-offset intervals that
// never overlap, each owning a private (dup'ed, MPOL_F_SHARED) policy. Empty tree = MPOL_DEFAULT.
// guest_memfd keeps one per inode, initialised empty (`mpol_shared_policy_init(sp, NULL)`) and
// freed at inode destroy, so it outlives every VMA and applies to KVM faults, fallocate and user
// faults alike. Here the tree is three parallel arrays sorted by start (binary search), which is
// what the page-cache miss path needs: one lookup per allocation, many millions per run.
//
// The module is generic over the policy value `P` (the mempolicy model lives elsewhere); `null`
// stands for MPOL_DEFAULT (the kernel's NULL policy pointer).
import { EFAULT } from '../errno.js';

/** One interval of the tree, as reported by `ranges()`. */
export interface PolicyRange<P> {
  readonly start: number;
  readonly end: number;
  readonly policy: P;
}

/** What one `shared_policy_replace` did, for tests and telemetry. */
export interface ReplaceResult {
  /** old intervals fully covered by [start,end) and removed (sp_delete) */
  deleted: number;
  /** old intervals that lost their head (start moved up to end) or their tail (end moved down to start) */
  trimmed: number;
  /** old intervals straddling both ends, cut in two (0 or 1: at most one can straddle) */
  split: number;
  /** whether [start,end) -> policy was inserted (false for MPOL_DEFAULT) */
  inserted: boolean;
}

export interface SharedPolicyOptions<P> {
  /**
   * Copy a policy value. Used where the kernel takes a private copy: the node inserted by
   * set_policy (`sp_alloc` -> `mpol_dup`) and the right half of a split (`*mpol_new = *n->policy`).
   * Defaults to the identity, which is right for immutable policy values.
   */
  clone?: (p: P) => P;
}

const identity = <T>(x: T): T => x;

function checkOffset(what: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`shared policy: ${what} ${v} is not a page offset`);
}

/** `struct shared_policy`: non-overlapping [start,end) file page ranges, each with its own policy. */
export class SharedPolicy<P> {
  // Sorted by start; since intervals are disjoint and non-empty, ends are sorted too.
  private starts: number[] = [];
  private ends: number[] = [];
  private pols: P[] = [];
  private readonly clone: (p: P) => P;

  constructor(opts: SharedPolicyOptions<P> = {}) {
    this.clone = opts.clone ?? identity;
  }

  /** Number of intervals in the tree. */
  get size(): number {
    return this.starts.length;
  }

  /**
   * `mpol_shared_policy_lookup` / `sp_lookup(sp, idx, idx+1)`: the policy of the interval that
   * contains `index`, or null (no policy: the caller falls back to the task policy). Hot path: no
   * argument checks; a non-integer or negative index simply finds nothing.
   */
  lookup(index: number): P | null {
    const s = this.starts;
    const n = s.length;
    if (n === 0) return null; // the kernel's "empty root, skip the lock" shortcut
    // last interval whose start <= index
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid]! <= index) lo = mid + 1;
      else hi = mid;
    }
    const k = lo - 1;
    if (k < 0 || index >= this.ends[k]!) return null;
    return this.pols[k]!;
  }

  /**
   * `mpol_set_shared_policy` + `shared_policy_replace` for the file range [start, end):
   * every old interval overlapping it is deleted (fully covered), trimmed (head or tail cut off)
   * or split in two (it straddles both ends: the left part keeps its policy object for
   * [old.start, start), the right part gets a copy for [end, old.end)); then, unless `pol` is
   * null (MPOL_DEFAULT, which only removes the overlap), [start,end) -> copy of `pol` is inserted.
   * Adjacent intervals with equal policies are not merged (neither does the kernel).
   * An empty range (start === end) changes nothing; the kernel never sees one (vma_pages > 0).
   */
  setPolicy(start: number, end: number, pol: P | null): ReplaceResult {
    checkOffset('start', start);
    checkOffset('end', end);
    if (start > end) throw new RangeError(`shared policy: start ${start} > end ${end}`);
    const res: ReplaceResult = { deleted: 0, trimmed: 0, split: 0, inserted: false };
    if (start === end) return res;

    const S = this.starts;
    const E = this.ends;
    const Pl = this.pols;
    // first interval that ends after start (sp_lookup(sp, start, end) then walk to the leftmost)
    let lo = 0;
    let hi = E.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (E[mid]! <= start) lo = mid + 1;
      else hi = mid;
    }
    const first = lo;
    let last = first; // one past the last interval that starts before end
    while (last < S.length && S[last]! < end) last++;

    // At most one head survivor (the first interval, if it starts before `start`) and one tail
    // survivor (the last, if it ends after `end`); everything in between is deleted.
    let headEnd = -1; // head survivor is [S[first], start) with its own policy object
    let tailStart = -1;
    let tailEnd = -1;
    let tailPol: P | null = null;
    for (let k = first; k < last; k++) {
      const s = S[k]!;
      const e = E[k]!;
      if (s >= start) {
        if (e <= end) {
          res.deleted++;
        } else {
          // old head covered: its start moves up to `end` (kept in place, same policy object)
          tailStart = end;
          tailEnd = e;
          tailPol = Pl[k]!;
          res.trimmed++;
        }
      } else if (e > end) {
        // old interval spans the whole new range: cut it, the right part gets a policy copy
        headEnd = start;
        tailStart = end;
        tailEnd = e;
        tailPol = this.clone(Pl[k]!);
        res.split++;
      } else {
        // old tail covered: its end moves down to `start`
        headEnd = start;
        res.trimmed++;
      }
    }

    const ns: number[] = [];
    const ne: number[] = [];
    const np: P[] = [];
    if (headEnd >= 0) {
      ns.push(S[first]!);
      ne.push(headEnd);
      np.push(Pl[first]!);
    }
    if (pol !== null) {
      ns.push(start);
      ne.push(end);
      np.push(this.clone(pol));
      res.inserted = true;
    }
    if (tailStart >= 0) {
      ns.push(tailStart);
      ne.push(tailEnd);
      np.push(tailPol as P);
    }
    const count = last - first;
    if (count === 0 && ns.length === 0) return res;
    S.splice(first, count, ...ns);
    E.splice(first, count, ...ne);
    Pl.splice(first, count, ...np);
    return res;
  }

  /** The intervals in order (for reports, numa_maps and get_mempolicy). A fresh array. */
  ranges(): PolicyRange<P>[] {
    const out: PolicyRange<P>[] = new Array(this.starts.length);
    for (let k = 0; k < this.starts.length; k++) {
      out[k] = { start: this.starts[k]!, end: this.ends[k]!, policy: this.pols[k]! };
    }
    return out;
  }

  /** `mpol_free_shared_policy` (inode destroy): back to the empty tree, i.e. MPOL_DEFAULT. */
  clear(): void {
    this.starts = [];
    this.ends = [];
    this.pols = [];
  }
}

/** `mpol_equal` for the nullable policy: NULL equals only NULL, otherwise the caller's compare. */
export function policyEqual<P>(a: P | null, b: P | null, equal: (x: P, y: P) => boolean): boolean {
  if (a === null || b === null) return a === b;
  return a === b || equal(a, b);
}

/** A piece of the mapping with one cached `vm_policy` (the kernel splits VMAs to mbind ranges). */
export interface VmaPiece<P> {
  /** first page of the piece, relative to the mapping start */
  readonly start: number;
  /** one past the last page, relative to the mapping start */
  readonly end: number;
  readonly policy: P | null;
}

/** What one mbind() over a mapping did. */
export interface MbindResult {
  /** 0, or -EFAULT when (part of) the range is outside the mapping (DEFAULT tolerates partial) */
  err: number;
  /** VMA pieces whose cached policy differed: each made one `set_policy` call */
  replaced: number;
  /** VMA pieces skipped because their cached policy already equals the new one */
  skipped: number;
  /** totals of the set_policy calls' shared_policy_replace results */
  deleted: number;
  trimmed: number;
  split: number;
}

/**
 * One `mmap(MAP_SHARED)` of a guest_memfd file: `pages` pages starting at file page `pgoff`.
 * The mapping keeps the VMA's cached `vm_policy` per piece (mbind splits VMAs to the exact range
 * and vma_modify_policy merges neighbours with equal policy), because `mbind_range` compares the
 * new policy against that cache, not against the shared tree (spec §2.7 "Edge").
 */
export class GmemMapping<P> {
  // pieces covering [0, pages), sorted, adjacent pieces have unequal policies after each mbind
  private pieces: VmaPiece<P>[];

  constructor(
    readonly pgoff: number,
    readonly pages: number,
  ) {
    checkOffset('pgoff', pgoff);
    if (!Number.isSafeInteger(pages) || pages <= 0) throw new RangeError(`gmem mapping: bad page count ${pages}`);
    this.pieces = [{ start: 0, end: pages, policy: null }]; // a fresh VMA has vm_policy NULL
  }

  /** linear_page_index: the FILE offset of mapping page `addrPage` (vm_pgoff + page in VMA). */
  fileOffset(addrPage: number): number {
    return this.pgoff + addrPage;
  }

  /** The VMA's cached vm_policy at mapping page `addrPage`. */
  vmPolicyAt(addrPage: number): P | null {
    this.checkPage(addrPage);
    for (const p of this.pieces) if (addrPage < p.end) return p.policy;
    return null; // unreachable: pieces cover [0, pages)
  }

  /** The VMA pieces in address order (copies). */
  vmas(): VmaPiece<P>[] {
    return this.pieces.map((p) => ({ ...p }));
  }

  /**
   * mbind(addr = mapping page `addrPage`, `npages` pages, `pol`) restricted to this mapping:
   * do_mbind's hole check (whole range outside -> EFAULT; a partial hole -> EFAULT unless
   * MPOL_DEFAULT, which is DISCONTIG_OK), then mbind_range per VMA piece: skip it when its cached
   * policy equals `pol` (mpol_equal), else split it to the range, call set_policy =
   * kvm_gmem_set_policy -> mpol_set_shared_policy on the FILE range
   * [pgoff + piece start, pgoff + piece end), and cache `pol` as the piece's vm_policy.
   */
  mbind(sp: SharedPolicy<P>, addrPage: number, npages: number, pol: P | null, equal: (a: P, b: P) => boolean): MbindResult {
    if (!Number.isSafeInteger(addrPage) || !Number.isSafeInteger(npages) || npages < 0) {
      throw new RangeError(`mbind: bad range ${addrPage}+${npages}`);
    }
    const res: MbindResult = { err: 0, replaced: 0, skipped: 0, deleted: 0, trimmed: 0, split: 0 };
    if (npages === 0) return res; // len == 0 -> 0
    const a = addrPage;
    const b = addrPage + npages;
    const ia = Math.max(a, 0);
    const ib = Math.min(b, this.pages);
    if (ia >= ib) return { ...res, err: -EFAULT }; // whole range in a hole
    if ((a < 0 || b > this.pages) && pol !== null) return { ...res, err: -EFAULT };

    const out: VmaPiece<P>[] = [];
    for (const p of this.pieces) {
      if (p.end <= ia || p.start >= ib) {
        out.push(p);
        continue;
      }
      if (policyEqual(p.policy, pol, equal)) {
        res.skipped++;
        out.push(p);
        continue;
      }
      const vs = Math.max(p.start, ia);
      const ve = Math.min(p.end, ib);
      if (p.start < vs) out.push({ start: p.start, end: vs, policy: p.policy });
      const r = sp.setPolicy(this.fileOffset(vs), this.fileOffset(ve), pol);
      res.replaced++;
      res.deleted += r.deleted;
      res.trimmed += r.trimmed;
      res.split += r.split;
      out.push({ start: vs, end: ve, policy: pol });
      if (ve < p.end) out.push({ start: ve, end: p.end, policy: p.policy });
    }
    // vma_merge: neighbours with equal policy become one VMA again
    const merged: VmaPiece<P>[] = [];
    for (const p of out) {
      const prev = merged[merged.length - 1];
      if (prev && policyEqual(prev.policy, p.policy, equal)) merged[merged.length - 1] = { start: prev.start, end: p.end, policy: prev.policy };
      else merged.push(p);
    }
    this.pieces = merged;
    return res;
  }

  /**
   * get_mempolicy(MPOL_F_ADDR) through `kvm_gmem_get_policy`: the shared-tree policy at file
   * offset pgoff + addrPage, or null (reported as MPOL_DEFAULT). Never the task policy.
   */
  getPolicyAt(sp: SharedPolicy<P>, addrPage: number): P | null {
    this.checkPage(addrPage);
    return sp.lookup(this.fileOffset(addrPage));
  }

  private checkPage(addrPage: number): void {
    if (!Number.isSafeInteger(addrPage) || addrPage < 0 || addrPage >= this.pages) {
      throw new RangeError(`gmem mapping: page ${addrPage} outside [0, ${this.pages})`); // vma_lookup fails: EFAULT
    }
  }
}
