// Invariant ids and their one-line meaning. Ids follow the spec's §3 where one exists.

export const INVARIANTS = {
  I1: 'no stale pfn: no SPTE maps a pfn that was freed or removed from the page cache/HVA',
  I2: 'type agreement: an SPTE is private exactly when its gfn\'s attribute is private',
  I4: 'balanced invalidations: in_progress never negative, every begun invalidation ends, zero at quiescence',
  I5: 'range covers: an open invalidation has a range before anything can look at it (the kernel WARNs otherwise)',
  I7: 'punch-hole zeroes: after a punch (or shared discard) the guest reads zeroes until it writes',
  I8: 'binding validity: no SPTE for a deleted memslot or for a gmem index not bound to its slot',
  I9: 'TLB: no page is freed or removed while a vCPU\'s TLB still translates to it (the remote flush reached every vCPU first)',
  I11: 'placement: a gmem folio lands on a node the policy in force at its file offset allows (bind mask, preferred or interleave node unless it was full)',
  I12: 'policy report: get_mempolicy(MPOL_F_ADDR) on the gmem mapping reports the policy the last mbind set at that offset, MPOL_DEFAULT where none did (never the task policy)',
  DATA: 'data integrity: what a vCPU wrote it reads back unless the page was punched or converted since',
  DEADLOCK: 'no deadlock: some actor can always make progress',
  STARVATION: 'no starvation: a fault is not retried more than the scenario\'s bound in a row',
} as const;

export type InvariantId = keyof typeof INVARIANTS;
export const INVARIANT_IDS = Object.keys(INVARIANTS) as InvariantId[];
export const invariantIndex = (id: InvariantId) => INVARIANT_IDS.indexOf(id);
