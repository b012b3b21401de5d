// NUMA memory policies and their validation, as mm/mempolicy.c does it: the uapi numbers, nodemasks,
// get_nodes, sanitize_mpol_flags, mpol_new, mpol_set_nodemask, rebind, mpol_equal and what
// get_mempolicy reports. Pure: no shared state; node selection lives in numa.ts.

// include/uapi/linux/mempolicy.h: modes
export const MPOL_DEFAULT = 0;
export const MPOL_PREFERRED = 1;
export const MPOL_BIND = 2;
export const MPOL_INTERLEAVE = 3;
export const MPOL_LOCAL = 4;
export const MPOL_PREFERRED_MANY = 5;
export const MPOL_WEIGHTED_INTERLEAVE = 6;
export const MPOL_MAX = 7;

// mode flags, ORed into the mode argument of set_mempolicy/mbind
export const MPOL_F_STATIC_NODES = 1 << 15;
export const MPOL_F_RELATIVE_NODES = 1 << 14;
export const MPOL_F_NUMA_BALANCING = 1 << 13;
export const MPOL_MODE_FLAGS = MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING;

// internal flags sharing pol->flags (never ORed into a user-visible mode)
export const MPOL_F_SHARED = 1 << 0;
export const MPOL_F_LOCAL = 1 << 1;
export const MPOL_F_MOF = 1 << 3;
export const MPOL_F_MORON = 1 << 4;

// get_mempolicy flags
export const MPOL_F_NODE = 1 << 0;
export const MPOL_F_ADDR = 1 << 1;
export const MPOL_F_MEMS_ALLOWED = 1 << 2;

// mbind flags
export const MPOL_MF_STRICT = 1 << 0;
export const MPOL_MF_MOVE = 1 << 1;
export const MPOL_MF_MOVE_ALL = 1 << 2;
export const MPOL_MF_VALID = MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL;

/** x86_64 CONFIG_NODES_SHIFT=10 */
export const MAX_NUMNODES = 1024;
export const NUMA_NO_NODE = -1;
const PAGE_SIZE = 4096n;
const BITS_PER_LONG = 64n;
const ULONG = (1n << 64n) - 1n;
const PAGE_BITS = 4096 * 8;

const MODE_NAMES = ['MPOL_DEFAULT', 'MPOL_PREFERRED', 'MPOL_BIND', 'MPOL_INTERLEAVE', 'MPOL_LOCAL', 'MPOL_PREFERRED_MANY', 'MPOL_WEIGHTED_INTERLEAVE'];

/** "MPOL_BIND", "MPOL_INTERLEAVE|MPOL_F_STATIC_NODES", "mode 999" for reports. */
export function modeName(mode: number): string {
  const base = mode & ~MPOL_MODE_FLAGS;
  const parts = [MODE_NAMES[base] ?? `mode ${base}`];
  if (mode & MPOL_F_STATIC_NODES) parts.push('MPOL_F_STATIC_NODES');
  if (mode & MPOL_F_RELATIVE_NODES) parts.push('MPOL_F_RELATIVE_NODES');
  if (mode & MPOL_F_NUMA_BALANCING) parts.push('MPOL_F_NUMA_BALANCING');
  return parts.join('|');
}

export type Errno = 'EINVAL' | 'EFAULT' | 'EPERM' | 'ENOMEM' | 'EOPNOTSUPP';
export interface Failure {
  ok: false;
  errno: Errno;
  /** one line naming the rule that failed */
  reason: string;
}
const fail = (errno: Errno, reason: string): Failure => ({ ok: false, errno, reason });

// ---------------------------------------------------------------------------------------------
// Nodemasks: sorted, duplicate-free arrays of node ids in [0, MAX_NUMNODES)

export type Nodemask = readonly number[];

/** A nodemask from a list of node ids (sorted, deduplicated); throws on an id that is no node. */
export function nodesFromList(ids: readonly number[]): Nodemask {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= MAX_NUMNODES) throw new RangeError(`node id ${id} is not in 0..${MAX_NUMNODES - 1}`);
  }
  return [...new Set(ids)].sort((a, b) => a - b);
}

export const nodesWeight = (m: Nodemask) => m.length;
export const nodesEmpty = (m: Nodemask) => m.length === 0;
export const nodeIsset = (n: number, m: Nodemask) => m.includes(n);
/** first_node; NUMA_NO_NODE when empty (the kernel returns MAX_NUMNODES) */
export const firstNode = (m: Nodemask) => (m.length ? m[0] : NUMA_NO_NODE);
export const nodesIntersect = (a: Nodemask, b: Nodemask): Nodemask => a.filter((n) => b.includes(n));
export const nodesIntersects = (a: Nodemask, b: Nodemask) => a.some((n) => b.includes(n));
export const nodesUnion = (a: Nodemask, b: Nodemask): Nodemask => nodesFromList([...a, ...b]);
export const nodesEqual = (a: Nodemask, b: Nodemask) => a.length === b.length && a.every((n, i) => n === b[i]);
export const nodesSubset = (a: Nodemask, b: Nodemask) => a.every((n) => b.includes(n));

/** next_node_in: the first node strictly after `n`, wrapping to the first; NUMA_NO_NODE when empty. */
export function nextNodeIn(n: number, m: Nodemask): number {
  if (!m.length) return NUMA_NO_NODE;
  for (const x of m) if (x > n) return x;
  return m[0];
}

/** nodes_fold (lib/bitmap.c bitmap_fold): every node n becomes n mod sz. */
export function nodesFold(m: Nodemask, sz: number): Nodemask {
  if (sz <= 0) return []; // the kernel divides by zero; an empty cpuset∩N_MEMORY cannot happen there
  return nodesFromList(m.map((n) => n % sz));
}

/** nodes_onto (bitmap_onto): node k of the result is the k-th node of `rel` for every k set in `m`. */
export function nodesOnto(m: Nodemask, rel: Nodemask): Nodemask {
  return rel.filter((_, k) => m.includes(k));
}

/** nodes_remap (bitmap_remap): the i-th node of `oldm` becomes the (i mod |newm|)-th of `newm`;
 *  nodes not in `oldm` (or all of them when `newm` is empty) map to themselves. */
export function nodesRemap(src: Nodemask, oldm: Nodemask, newm: Nodemask): Nodemask {
  return nodesFromList(
    src.map((n) => {
      const i = oldm.indexOf(n);
      return i < 0 || newm.length === 0 ? n : newm[i % newm.length];
    }),
  );
}

/** mpol_relative_nodemask: fold the user mask to |rel| bits, then map it onto rel. */
export const mpolRelativeNodemask = (orig: Nodemask, rel: Nodemask): Nodemask => nodesOnto(nodesFold(orig, rel.length), rel);

/** "0-2,5" (bitmap_print_to_pagebuf list form), "" when empty. */
export function nodelistString(m: Nodemask): string {
  const out: string[] = [];
  for (let i = 0; i < m.length; ) {
    let j = i;
    while (j + 1 < m.length && m[j + 1] === m[j] + 1) j++;
    out.push(i === j ? `${m[i]}` : `${m[i]}-${m[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

/** The user-space form of a mask: an array of 64-bit words, node n at bit n%64 of word n/64. */
export function nodesToWords(m: Nodemask, nwords = m.length ? Math.floor(m[m.length - 1] / 64) + 1 : 0): bigint[] {
  const w = new Array<bigint>(nwords).fill(0n);
  for (const n of m) if (n < nwords * 64) w[n >> 6] |= 1n << BigInt(n & 63);
  return w;
}

// ---------------------------------------------------------------------------------------------
// get_nodes: copy a user bitmap

export type GetNodesResult = { nodes: Nodemask } | { errno: 'EINVAL' | 'EFAULT'; reason: string };

/**
 * mm/mempolicy.c get_nodes: `mask` is the user's array of unsigned longs (null = NULL pointer; a
 * read past its end is a copy fault → EFAULT), `maxnode` is the syscall argument (unsigned long).
 * Uses maxnode−1 bits. Quirks kept: maxnode 0 wraps to ULONG_MAX bits, so with a non-NULL mask it
 * is EINVAL (only NULL gives the empty mask); above MAX_NUMNODES whole words are checked, so a
 * stray bit past maxnode−1 in the last word also fails.
 */
export function getNodes(mask: readonly bigint[] | null, maxnode: number | bigint): GetNodesResult {
  let bits = (BigInt(maxnode) - 1n) & ULONG; // --maxnode on an unsigned long
  if (bits === 0n || mask === null) return { nodes: [] };
  if (bits > BigInt(PAGE_BITS))
    return { errno: 'EINVAL', reason: `maxnode ${maxnode} is more than a page of bits + 1 (${PAGE_BITS + 1})${bits === ULONG ? ': maxnode 0 wraps' : ''}` };
  const word = (i: bigint) => (i < BigInt(mask.length) ? BigInt.asUintN(64, mask[Number(i)]) : undefined);
  const efault = (i: bigint) => ({ errno: 'EFAULT' as const, reason: `maxnode ${maxnode} reads word ${i} of a ${mask.length}-word nodemask (copy fault)` });
  const MAX = BigInt(MAX_NUMNODES);
  // bits the kernel does not support must be zero: checked a word at a time from the top
  while (bits > MAX) {
    const chunk = bits < BITS_PER_LONG ? bits : BITS_PER_LONG;
    const idx = (bits - 1n) / BITS_PER_LONG;
    let t = word(idx);
    if (t === undefined) return efault(idx);
    if (chunk % BITS_PER_LONG) t &= (1n << (chunk % BITS_PER_LONG)) - 1n;
    if (bits - chunk >= MAX) bits -= chunk;
    else {
      bits = MAX;
      t &= ~((1n << (MAX % BITS_PER_LONG)) - 1n) & ULONG;
    }
    if (t) return { errno: 'EINVAL', reason: `nodemask sets a node at or above MAX_NUMNODES (${MAX_NUMNODES}) in word ${idx}` };
  }
  // get_bitmap: BITS_TO_LONGS(bits) words, the last one masked to `bits`
  const nlongs = (bits + BITS_PER_LONG - 1n) / BITS_PER_LONG;
  const nodes: number[] = [];
  for (let i = 0n; i < nlongs; i++) {
    let w = word(i);
    if (w === undefined) return efault(i);
    if (i === nlongs - 1n && bits % BITS_PER_LONG) w &= (1n << (bits % BITS_PER_LONG)) - 1n;
    for (let b = 0; w; b++, w >>= 1n) if (w & 1n) nodes.push(Number(i) * 64 + b);
  }
  return { nodes };
}

// ---------------------------------------------------------------------------------------------
// struct mempolicy

export interface Mempolicy {
  readonly mode: number;
  /** user mode flags (MPOL_F_STATIC/RELATIVE/NUMA_BALANCING) plus internal ones (MOF, MORON, SHARED) */
  readonly flags: number;
  /** effective nodes (pol->nodes): what allocation uses */
  readonly nodes: Nodemask;
  /** the mask the user passed (w.user_nodemask); the kernel keeps, compares and reports it only
   *  when a mode flag is set (mpol_store_user_nodemask) */
  readonly userNodes: Nodemask;
  /** w.cpuset_mems_allowed: the allowed set at creation, for a plain rebind */
  readonly cpusetMems: Nodemask;
  /** NUMA_NO_NODE (-1) unless set_mempolicy_home_node set one (BIND, PREFERRED_MANY) */
  readonly homeNode: number;
}

/** mpol_store_user_nodemask: any mode flag — MPOL_MODE_FLAGS includes NUMA_BALANCING since 5.12 */
export const mpolStoreUserNodemask = (pol: Mempolicy) => (pol.flags & MPOL_MODE_FLAGS) !== 0;

export type MpolResult = { ok: true; policy: Mempolicy | null } | Failure;

/** sanitize_mpol_flags: split the syscall's int mode into mode and flags and check the combination. */
export function sanitizeMpolFlags(modeArg: number): { ok: true; mode: number; flags: number } | Failure {
  if (!Number.isInteger(modeArg)) return fail('EINVAL', `mode ${modeArg} is not an integer`);
  const m = modeArg | 0; // the syscall's unsigned long becomes an int
  const flags = m & MPOL_MODE_FLAGS;
  const mode = m & ~MPOL_MODE_FLAGS;
  if (mode >>> 0 >= MPOL_MAX) return fail('EINVAL', `mode ${mode} is not a policy (modes are 0..${MPOL_MAX - 1})`);
  if (flags & MPOL_F_STATIC_NODES && flags & MPOL_F_RELATIVE_NODES)
    return fail('EINVAL', 'MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES are mutually exclusive');
  if (flags & MPOL_F_NUMA_BALANCING) {
    if (mode !== MPOL_BIND && mode !== MPOL_PREFERRED_MANY)
      return fail('EINVAL', `MPOL_F_NUMA_BALANCING needs MPOL_BIND or MPOL_PREFERRED_MANY, not ${modeName(mode)}`);
    return { ok: true, mode, flags: flags | MPOL_F_MOF | MPOL_F_MORON };
  }
  return { ok: true, mode, flags };
}

/**
 * mpol_new: mode/mask checks and the allocation. Returns a policy whose `nodes` are still unset
 * (mpolSetNodemask fills them); DEFAULT is "no policy" (null); PREFERRED with an empty mask and no
 * flag becomes LOCAL. `allocFails` models kmem_cache_alloc failing (ENOMEM).
 */
export function mpolNew(mode: number, flags: number, nodes: Nodemask, allocFails = false): MpolResult {
  if (mode === MPOL_DEFAULT) {
    if (nodes.length) return fail('EINVAL', `MPOL_DEFAULT takes no nodemask (got ${nodelistString(nodes)})`);
    return { ok: true, policy: null };
  }
  const staticOrRelative = (flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES)) !== 0;
  if (mode === MPOL_PREFERRED) {
    if (!nodes.length) {
      if (staticOrRelative) return fail('EINVAL', 'MPOL_PREFERRED with MPOL_F_STATIC_NODES/MPOL_F_RELATIVE_NODES needs a non-empty nodemask');
      mode = MPOL_LOCAL;
    }
  } else if (mode === MPOL_LOCAL) {
    if (nodes.length) return fail('EINVAL', `MPOL_LOCAL takes no nodemask (got ${nodelistString(nodes)})`);
    if (staticOrRelative) return fail('EINVAL', 'MPOL_LOCAL takes no MPOL_F_STATIC_NODES/MPOL_F_RELATIVE_NODES');
  } else if (!nodes.length) return fail('EINVAL', `${modeName(mode)} needs a non-empty nodemask`);
  if (allocFails) return fail('ENOMEM', 'no memory for the mempolicy (kmem_cache_alloc failed)');
  return { ok: true, policy: { mode, flags, nodes: [], userNodes: nodes, cpusetMems: [], homeNode: NUMA_NO_NODE } };
}

/**
 * mpol_set_nodemask: effective nodes = the user mask (pol.userNodes, as mpolNew stored it) ∩
 * allowed, or for RELATIVE folded and mapped onto allowed; `allowed` = cpuset mems_allowed ∩
 * N_MEMORY. PREFERRED keeps the first node; an empty result is EINVAL. DEFAULT and LOCAL pass.
 */
export function mpolSetNodemask(pol: Mempolicy | null, allowed: Nodemask): MpolResult {
  if (pol === null || pol.mode === MPOL_LOCAL) return { ok: true, policy: pol };
  const user = pol.userNodes;
  const eff = pol.flags & MPOL_F_RELATIVE_NODES ? mpolRelativeNodemask(user, allowed) : nodesIntersect(user, allowed);
  if (!eff.length) {
    const how = pol.flags & MPOL_F_RELATIVE_NODES ? 'folded onto' : 'intersected with';
    return fail('EINVAL', `${modeName(pol.mode)} nodemask ${nodelistString(user)} ${how} the allowed nodes ${nodelistString(allowed) || '(none)'} is empty`);
  }
  // mpol_ops[mode].create: mpol_new_preferred keeps the first node, mpol_new_nodemask all
  const nodes = pol.mode === MPOL_PREFERRED ? [eff[0]] : eff;
  return { ok: true, policy: { ...pol, nodes, cpusetMems: mpolStoreUserNodemask(pol) ? [] : allowed } };
}

export interface PolicyInput {
  /** the syscall's mode argument: MPOL_* possibly ORed with MPOL_F_* flags */
  mode: number;
  /** more MPOL_F_* flags, ORed into mode (a convenience: the syscall has one int) */
  flags?: number;
  /** the nodemask as node ids; ignored when `mask` is given */
  nodes?: readonly number[] | null;
  /** the nodemask as the user's 64-bit words (null = NULL pointer) */
  mask?: readonly bigint[] | null;
  /** the syscall's maxnode; default for `nodes`: highest id + 2 (libnuma's habit), 0 when empty */
  maxnode?: number | bigint;
  /** mbind only: do_mbind's checks that run between get_nodes and mpol_new */
  mbind?: { flags?: number; capSysNice?: boolean; start?: number | bigint; len?: number | bigint };
  /** model kmem_cache_alloc failing in mpol_new (ENOMEM) */
  allocFails?: boolean;
}

export type ValidateResult =
  | { ok: true; policy: Mempolicy | null; /** mbind with a zero length returns 0 before mpol_new */ noop?: true }
  | (Failure & { step: 'sanitize' | 'get_nodes' | 'do_mbind' | 'mpol_new' | 'set_nodemask' });

/**
 * kernel_mbind / kernel_set_mempolicy up to the new policy: sanitize_mpol_flags → get_nodes →
 * (mbind: do_mbind's flag/range checks) → mpol_new → mpol_set_nodemask. The first failing rule
 * decides the errno, as in the kernel. What happens after (VMA walk, shared tree) is the caller's.
 */
export function validatePolicy(input: PolicyInput, allowed: Nodemask): ValidateResult {
  const s = sanitizeMpolFlags(input.flags ? input.mode | input.flags : input.mode);
  if (!s.ok) return { ...s, step: 'sanitize' };

  let mask: readonly bigint[] | null;
  let maxnode: number | bigint;
  if (input.mask !== undefined) {
    mask = input.mask;
    maxnode = input.maxnode ?? 0;
  } else {
    // node ids become the user array a program would pass: NULL when there is nothing to pass
    const ids = input.nodes ?? [];
    const bad = ids.find((n) => !Number.isInteger(n) || n < 0);
    if (bad !== undefined) return { ...fail('EINVAL', `node id ${bad} cannot be a bit of a nodemask`), step: 'get_nodes' };
    const hi = ids.length ? Math.max(...ids) : -1;
    if (input.maxnode === undefined) {
      maxnode = hi < 0 ? 0 : hi + 2; // libnuma passes numa_max_node() + 2
      mask = hi < 0 ? null : hi + 1 > PAGE_BITS ? [] : nodesToWords(ids, (hi >> 6) + 1);
    } else {
      maxnode = input.maxnode;
      // an array just long enough for the maxnode−1 bits the kernel may read
      const bits = (BigInt(maxnode) - 1n) & ULONG;
      const nwords = bits > BigInt(PAGE_BITS) ? 0 : Math.ceil(Number(bits) / 64);
      mask = input.nodes == null ? null : nodesToWords(ids.filter((n) => n < nwords * 64), nwords);
    }
  }
  const g = getNodes(mask, maxnode);
  if ('errno' in g) return { ok: false, errno: g.errno, reason: g.reason, step: 'get_nodes' };

  if (input.mbind) {
    const r = doMbindChecks(s.mode, input.mbind);
    if (r === 'noop') return { ok: true, policy: null, noop: true };
    if (r) return { ...r, step: 'do_mbind' };
  }

  const p = mpolNew(s.mode, s.flags, g.nodes, input.allocFails);
  if (!p.ok) return { ...p, step: 'mpol_new' };
  const q = mpolSetNodemask(p.policy, allowed);
  if (!q.ok) return { ...q, step: 'set_nodemask' };
  return q;
}

/** do_mbind's checks before mpol_new: flags, MOVE_ALL capability, start alignment, overflow, len 0. */
function doMbindChecks(mode: number, m: NonNullable<PolicyInput['mbind']>): Failure | 'noop' | null {
  const flags = m.flags ?? 0;
  if (flags & ~MPOL_MF_VALID) return fail('EINVAL', `mbind flags 0x${flags.toString(16)} outside MPOL_MF_STRICT|MOVE|MOVE_ALL`);
  if (flags & MPOL_MF_MOVE_ALL && !m.capSysNice) return fail('EPERM', 'MPOL_MF_MOVE_ALL needs CAP_SYS_NICE');
  const start = BigInt.asUintN(64, BigInt(m.start ?? 0));
  if (start & (PAGE_SIZE - 1n)) return fail('EINVAL', `mbind start 0x${start.toString(16)} is not page aligned`);
  const len = (BigInt.asUintN(64, BigInt(m.len ?? PAGE_SIZE)) + PAGE_SIZE - 1n) & ~(PAGE_SIZE - 1n) & ULONG;
  const end = (start + len) & ULONG;
  if (end < start) return fail('EINVAL', 'mbind start + len overflows');
  if (end === start) return 'noop';
  void mode; // DEFAULT only drops MPOL_MF_STRICT, which matters later (queue_pages_range)
  return null;
}

// ---------------------------------------------------------------------------------------------
// Reporting, equality, copies, rebind, home node

export interface MempolicyReport {
  /** mode | user flags, as get_mempolicy's *policy */
  mode: number;
  nodes: Nodemask;
}

/**
 * do_get_mempolicy(MPOL_F_ADDR) for what a shared-policy lookup returned: null is MPOL_DEFAULT with
 * an empty mask (no fall back to the task policy); else mode | (flags & MPOL_MODE_FLAGS) and the
 * user mask when a mode flag is set, the effective one otherwise (LOCAL: empty).
 */
export function getMempolicyReport(pol: Mempolicy | null): MempolicyReport {
  if (pol === null) return { mode: MPOL_DEFAULT, nodes: [] };
  const mode = pol.mode | (pol.flags & MPOL_MODE_FLAGS);
  if (mpolStoreUserNodemask(pol)) return { mode, nodes: pol.userNodes };
  return { mode, nodes: pol.mode === MPOL_LOCAL ? [] : pol.nodes }; // get_policy_nodemask
}

/** mpol_equal / __mpol_equal: the check mbind_range uses to skip a VMA already carrying the policy. */
export function mpolEqual(a: Mempolicy | null, b: Mempolicy | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  if (a.mode !== b.mode || a.flags !== b.flags || a.homeNode !== b.homeNode) return false;
  if (mpolStoreUserNodemask(a) && !nodesEqual(a.userNodes, b.userNodes)) return false;
  return a.mode === MPOL_LOCAL || nodesEqual(a.nodes, b.nodes);
}

/** mpol_dup (plus the MPOL_F_SHARED marking sp_alloc adds when `shared`). */
export function mpolDup(pol: Mempolicy, shared = false): Mempolicy {
  return { ...pol, flags: shared ? pol.flags | MPOL_F_SHARED : pol.flags };
}

/**
 * mpol_rebind_policy on a cpuset mems change (`allowed` = new cpuset ∩ N_MEMORY). STATIC: user ∩ new;
 * RELATIVE: fold/onto new; plain: remap positions old cpuset → new; empty → all of new.
 * PREFERRED/PREFERRED_MANY only record the new set. The kernel keeps user mask and cpuset mask in
 * one union, so a NUMA_BALANCING policy remaps from (and then overwrites) its user mask.
 */
export function mpolRebind(pol: Mempolicy | null, allowed: Nodemask): Mempolicy | null {
  if (pol === null || pol.mode === MPOL_LOCAL || pol.mode === MPOL_DEFAULT) return pol;
  const storeUser = mpolStoreUserNodemask(pol);
  const w = storeUser ? pol.userNodes : pol.cpusetMems;
  if (!storeUser && nodesEqual(w, allowed)) return pol;
  if (pol.mode === MPOL_PREFERRED || pol.mode === MPOL_PREFERRED_MANY) {
    // mpol_rebind_preferred writes w.cpuset_mems_allowed (which is the user mask when one is kept)
    return storeUser ? { ...pol, userNodes: allowed } : { ...pol, cpusetMems: allowed };
  }
  let nodes: Nodemask;
  let next = pol;
  if (pol.flags & MPOL_F_STATIC_NODES) nodes = nodesIntersect(pol.userNodes, allowed);
  else if (pol.flags & MPOL_F_RELATIVE_NODES) nodes = mpolRelativeNodemask(pol.userNodes, allowed);
  else {
    nodes = nodesRemap(pol.nodes, w, allowed);
    next = storeUser ? { ...pol, userNodes: allowed } : { ...pol, cpusetMems: allowed };
  }
  return { ...next, nodes: nodes.length ? nodes : allowed };
}

/**
 * set_mempolicy_home_node for one policy: node must be < MAX_NUMNODES and online (EINVAL), the
 * policy BIND or PREFERRED_MANY (EOPNOTSUPP); no policy is left alone.
 */
export function mpolSetHomeNode(pol: Mempolicy | null, home: number, online: Nodemask, flags = 0): MpolResult {
  if (flags !== 0) return fail('EINVAL', 'set_mempolicy_home_node flags must be 0');
  if (!Number.isInteger(home) || home < 0 || home >= MAX_NUMNODES || !online.includes(home))
    return fail('EINVAL', `home node ${home} is not an online node`);
  if (pol === null) return { ok: true, policy: null };
  if (pol.mode !== MPOL_BIND && pol.mode !== MPOL_PREFERRED_MANY)
    return fail('EOPNOTSUPP', `a home node needs MPOL_BIND or MPOL_PREFERRED_MANY, not ${modeName(pol.mode)}`);
  return { ok: true, policy: { ...pol, homeNode: home } };
}
