// The only file that knows where things live in the SharedArrayBuffer.
// Everything is an Int32 word; hot words that different threads write sit on their own
// 64-byte line (16 words) so one actor's counters never false-share with another's.

export const MAGIC = 0x676d656d; // 'gmem'
export const LAYOUT_VERSION = 14;
export const LINE = 16; // Int32 words per 64-byte cache line

/** Per-actor counters, in order. The report and JSON use these names. */
export const COUNTERS = [
  'faults', // kvm_mmu_page_fault entries
  'installs', // SPTEs installed
  'fastHits', // guest accesses served by a present SPTE, no fault
  'retries', // RET_PF_RETRY returned to the guest
  'retryLockless', // mmu_invalidate_retry_gfn_unsafe fired (either precheck)
  'retryStale', // is_page_fault_stale fired under mmu_lock
  'retryInvalidSlot', // KVM_MEMSLOT_INVALID
  'memoryFaultExits', // KVM_EXIT_MEMORY_FAULT
  'mmioExits', // shared access with no memslot
  'hypercalls', // guest KVM_HC_MAP_GPA_RANGE
  'exitsServed', // VMM: exits and hypercalls handled
  'conversions', // KVM_SET_MEMORY_ATTRIBUTES calls that changed attributes
  'punchHoles', // fallocate(PUNCH_HOLE) calls
  'fallocates', // fallocate(allocate) calls
  'allocations', // pfns allocated (page cache or HVA)
  'frees', // pfns freed
  'invalidations', // kvm_mmu_invalidate_begin calls
  'zaps', // SPTEs zapped
  'slotDeletes',
  'slotCreates',
  'enomem', // allocation failures
  'reads',
  'writes',
  'steps', // yield points passed
  // retry reasons, finer: the part of retryLockless / retryStale caused by a moved seq (the rest: gfn in an open range)
  'retryLocklessSeq',
  'retryStaleSeq',
  // the outcome of each kvm_mmu_page_fault (jcstress-style): what the fault returned
  'outFixed', // RET_PF_FIXED: installed
  'outSpurious', // RET_PF_SPURIOUS: someone else installed the same SPTE first
  'outRetry', // RET_PF_RETRY
  'outExit', // KVM_EXIT_MEMORY_FAULT
  'outEmulate', // RET_PF_EMULATE (MMIO)
  'outError', // another -errno without an exit (a failed GUP)
  // INTERESTING outcomes: legal, and what the protocol is there for
  'outRefilledRetry', // the fault allocated a folio (e.g. into a punched hole) and then retried without mapping it
  'outStalePfnCaught', // the fault resolved a page that was truncated/discarded before its locked check, and retried
  // mmu_lock on worker threads (no time under sim): acquisitions, and microseconds waited and held, by mode
  'mmuReadAcquires',
  'mmuReadWaitUs',
  'mmuReadHoldUs',
  'mmuWriteAcquires',
  'mmuWriteWaitUs',
  'mmuWriteHoldUs',
  // the cost of mmu_lock's shared line: read acquisitions that lost a race on the reader count
  // (another CPU changed the line between load and CAS), or, big-reader, backed off from a writer
  'mmuReadContended',
  'starvedAccesses', // guest accesses that retried more than Scenario.starvationRetries times (explained or not)
  // invalidation windows, kvm_mmu_invalidate_begin -> end of one invalidation: µs on threads, global steps under sim
  'invWindows',
  // a retry reason: the SPTE changed between the walk and the cmpxchg (tdp_mmu_set_spte_atomic failed: RET_PF_RETRY)
  'retrySpteRace',
  'invWindowSum',
  'invWindowMax', // a maximum: totals take the largest, not the sum
  // the host user process on its mapping of the guest_memfd (issue 12)
  'hostAccesses', // loads and stores through the mapping
  'hostFaults', // kvm_gmem_fault_user_mapping calls
  'hostSigbus', // VM_FAULT_SIGBUS: beyond i_size, or the file is not INIT_SHARED
  'hostUnmaps', // host PTEs zapped by truncation (unmap_mapping_folio)
  'preFaultCalls', // KVM_PRE_FAULT_MEMORY ioctls
  'preFaultPages', // pages it mapped (or found mapped)
  'preFaultRetries', // RET_PF_RETRY that kvm_tdp_map_page retried in the kernel
  'preFaultErrors', // ioctls that returned an error with no progress
  'gmemReleases', // kvm_gmem_release runs (the file's last reference went)
  'hwpoisoned', // memory_failure() runs that poisoned a guest_memfd folio
  'ehwpoison', // kvm_gmem_get_pfn refused a poisoned folio: -EHWPOISON
  'zapYields', // a zap walk dropped mmu_lock for a waiter (tdp_mmu_iter_cond_resched)
  'tlbFlushes', // kvm_flush_remote_tlbs calls from zaps (at a yield with a flush pending, and at the walk's end)
  'notifierInvalidations', // mmu-notifier invalidate_range_start/end pairs from the standalone notifier actor
  'prepareFails', // kvm_arch_gmem_prepare failed (the fault returns its error, nothing mapped)
  'fileGone', // gmem entry points refused because the file was closed: -EFAULT (get_file_active failed), -EBADF (fget failed)
  'populated', // pages kvm_gmem_populate filled with launch data
  'populateErrors', // pages it refused or failed (not private, -EEXIST, post_populate's error, the fault path's)
  // in-place conversion (kernel "next", issue 13)
  'gmemSetAttrs', // KVM_SET_MEMORY_ATTRIBUTES2 ioctls on the guest_memfd
  'convChanged', // of those, the ones that changed attributes (returned 0 with work done)
  'convEagain', // returned -EAGAIN: a folio in range had an unexpected reference
  'convRetries', // the VMM's retries of a conversion after -EAGAIN
  'convGaveUp', // conversions the VMM gave up on after its retries
  'convSettled', // conversions the VMM saw through (first attempt to success), for the latency figures
  'convLatencySum', // first attempt to success: µs on threads, global steps under sim
  'convLatencyMax', // a maximum
  'lruDrains', // lru_add_drain_all from the safety check
  'pins', // pages pinned (pin_user_pages FOLL_LONGTERM through the host mapping)
  'pinFails', // pages the pinner could not pin (SIGBUS: private, or beyond i_size)
  'dmaAccesses', // loads and stores through a pin
  'specRefs', // speculative references taken (folio_try_get by a PFN walker)
  // huge pages (issue 14)
  'installs2m', // of installs: 2M leaves
  'installs1g', // of installs: 1G leaves
  'zaps2m', // of zaps: 2M leaves (zapped whole)
  'zaps1g',
  'spteSplits', // huge leaves split one level down at fault time (tdp_mmu_split_huge_page)
  'hugeFolios', // huge folios allocated (THP: kvm_gmem_get_huge_folio)
  'hugeFallbacks', // THP attempts that fell back to a 4K folio (the range not empty or not inside i_size, no free 2M block, a lost insertion race)
  'folioSplits', // huge folios split into 4K folios (truncate_inode_partial_folio's split_folio)
  'folioZeroed', // partial truncations of a huge folio that could not split and only zeroed the range
  'folioMerges', // hugetlb: split folios merged back into one huge folio (to-private, punch, eviction)
  'freezeSpins', // hugetlb: splits and merges that had to wait for a folio's references to drop to the page cache's (folio_ref_freeze's spin)
  'hugetlbEnomem', // hugetlb: allocations refused because the file's subpool had no reservation left
] as const;
export type CounterName = (typeof COUNTERS)[number];
/** Counters that hold a maximum (summing them over actors or runs would mean nothing). */
export const MAX_COUNTERS: ReadonlySet<CounterName> = new Set<CounterName>(['invWindowMax', 'convLatencyMax']);
/** Counter ids: a counter's position in COUNTERS (count(ctx, Ctr.faults)); a numeric id, so a hot path pays no keyed lookup. */
export const Ctr: { readonly [K in CounterName]: number } = Object.fromEntries(COUNTERS.map((n, i) => [n, i])) as never;
/** where an actor's counters start in its words */
export const A_COUNTERS = 0;

// Per-actor words after the counters (all inside the actor's own lines).
export const ACTOR_WORDS = 192; // twelve lines: the counters fill the first six
export const A_SRCU = 96; // SRCU read-side epoch (0 = not in a read-side section)
export const A_INSIDE = 97; // ghost: invalidations this actor has begun and not ended
export const A_WAIT_KIND = 98; // what the actor waits on (for deadlock reports); 0 = nothing
export const A_WAIT_ARG = 99;
export const A_DONE = 100; // 1 when the actor's program returned
// vCPU ↔ VMM mailbox (KVM_RUN exit handed to the VMM thread)
export const A_MB_STATE = 101; // 0 idle, 1 request posted, 2 served
export const A_MB_GFN = 102;
export const A_MB_ARG = 103; // MB_* flags | npages << MB_NPAGES_SHIFT
export const A_IN_GUEST = 104; // 1 while the vCPU accesses memory through an SPTE (remote TLB flushes wait for 0)
export const A_SLEEP = 105; // a word nobody writes: Atomics.wait on it is a plain sleep
export const A_WAIT_ARG2 = 106;
export const A_RETURNED = 107; // the actor's program returned (set by the engine)
/** retries per guest access, log2 buckets: [0] no retry, [b] 2^(b-1) .. 2^b - 1 retries, the last open-ended */
export const A_RETRY_HIST = 108;
export const RETRY_HIST_BUCKETS = 16;
export const A_RETRY_MAX = A_RETRY_HIST + RETRY_HIST_BUCKETS; // the most retries one access needed
/** lockdep: the lock classes this actor holds (bit per class, any mode), for "held by" in reports */
export const A_LOCKS_HELD = 125;
/** mmu_lock as a big-reader lock (--mmu-lock percpu): this actor's reader slot, on the actor's ninth line (read by writers; A_READY shares it, written once) */
export const A_MMU_READER = 128;
/** vCPU 0 with shared gfns: 1 once its initial conversion is done (the other vCPUs wait for it) */
export const A_READY = 129;
/** vCPU: a remote TLB flush was requested (KVM_REQ_TLB_FLUSH); the vCPU clears its TLB before its next guest access */
export const A_TLB_REQ = 130;
/** vCPU: its TLB, TLB_ENTRIES direct-mapped entries of TLB_ENTRY_WORDS: gfn + 1 (0 = empty), pfn + 1, 1 if private */
export const A_TLB = 131;
export const TLB_ENTRIES = 4;
export const TLB_ENTRY_WORDS = 3;
/** invalidation windows this actor closed, by length (µs on threads, global steps under sim), log2 buckets as A_RETRY_HIST's: telemetry only, on the actor's ninth line */
export const A_INV_HIST = 144;
export const INV_HIST_BUCKETS = 16;
/** ghost (runtime mbind, on the actor's tenth line): the file index + 1 of this actor's shared-policy lookup in progress (0: none) */
export const A_SPL_INDEX = 160;
/** ghost: the policy ids (bit per id) in force at that index at some moment since the lookup began */
export const A_SPL_MASK = 161;
/** ghost: this actor's mbind in progress: its policy id and its file range (valid while A_SPW_SEQ is odd) */
export const A_SPW_PID = 162;
export const A_SPW_START = 163;
export const A_SPW_END = 164;
/** ghost: bumped when this actor's mbind begins and when it returns (odd: one in progress), so a reader of the three words above can tell it read one mbind's */
export const A_SPW_SEQ = 165;
/** kernel "next": this CPU's lru_add folio batch (cpu_fbatches.lru_add), LRU_BATCH slots of pfn + 1 (0: empty), each holding a folio reference until drained */
export const A_LRU_BATCH = 176;
export const LRU_BATCH = 15;
// The counters come first; the words above must not overlap them, nor run past the actor's lines.
if (A_COUNTERS + COUNTERS.length > A_SRCU || A_RETRY_MAX >= A_LOCKS_HELD || A_LOCKS_HELD >= A_MMU_READER || A_READY >= A_TLB_REQ || A_TLB + TLB_ENTRIES * TLB_ENTRY_WORDS > A_INV_HIST || A_INV_HIST + INV_HIST_BUCKETS > A_SPL_INDEX || A_SPW_SEQ >= A_LRU_BATCH || A_LRU_BATCH + LRU_BATCH > ACTOR_WORDS) {
  throw new Error('layout: per-actor words overlap');
}
export const MB_PRIVATE = 1;
export const MB_HYPERCALL = 2;
export const MB_FALLOCATE = 4;
export const MB_UNHANDLED = 8; // set by the VMM in the reply: nothing it could do
export const MB_NPAGES_SHIFT = 4;

// Global words. Each group starts on its own line.
export const G_MAGIC = 0;
export const G_VERSION = 1;
export const G_NGFNS = 2;
export const G_NSLOTS = 3;
export const G_FILE_PAGES = 4;
export const G_NPFNS = 5;
export const G_NACTORS = 6;
export const G_GMEM_FLAGS = 7; // the gmem inode's flags (GMEM_INODE_MMAP | GMEM_INODE_INIT_SHARED), written once at state build
export const G_ATTRS_GMEM = 8; // 1: guest_memfd owns the memory attributes, per file index (kernel "next"); 0: the VM's, per gfn
export const G_HUGETLB = 9; // 1: the guest_memfd is hugetlb-backed (the 1G RFC), written once at state build
export const G_HUGETLB_SPOOL = 10; // the file's hugetlb subpool: huge pages it may still allocate (reserved at creation)

// mmu_lock: its own line (every fault reads-locks it)
export const G_MMU_LOCK = 1 * LINE;
export const G_MMU_LOCK_SLEEPERS = G_MMU_LOCK + 1;
/** actors waiting to take mmu_lock (either mode): rwlock_needbreak's "someone waits", which a zap yields to */
export const G_MMU_LOCK_WAITERS = G_MMU_LOCK + 3;
/** a lock's words: the lock word, its sleepers, and the actor holding it exclusively (+1; 0: none) */
export const LOCK_SLEEPERS = 1;
export const LOCK_HOLDER = 2;
// invalidation state: written under W(mmu_lock)
export const G_SEQ = 2 * LINE;
export const G_IN_PROGRESS = G_SEQ + 1;
export const G_RANGE_START = G_SEQ + 2;
export const G_RANGE_END = G_SEQ + 3;
// other locks
export const G_SLOTS_LOCK = 3 * LINE;
export const G_SLOTS_LOCK_SLEEPERS = G_SLOTS_LOCK + 1;
export const G_INV_LOCK = 4 * LINE; // filemap invalidate_lock of the one gmem inode
export const G_INV_LOCK_SLEEPERS = G_INV_LOCK + 1;
// the gmem file's lifetime (its own line: every gmem fault takes and drops a file reference)
export const G_GMEM_FILE_REF = 5 * LINE; // file->f_ref: the VMM's fd, the host process's mapping, transient references
export const G_GMEM_FD = G_GMEM_FILE_REF + 1; // 1 while the VMM's fd is open (fget succeeds), 0 once closed
export const G_GMEM_FILE_STATE = G_GMEM_FILE_REF + 2; // GmemFileState
export const G_SRCU_EPOCH = 6 * LINE;
// run control
export const G_STOP = 7 * LINE;
export const G_VIOLATION = G_STOP + 1; // 0 none, else 1 + invariant index
export const G_STEP = G_STOP + 2; // global step counter (threads replay)
export const G_TURN = G_STOP + 3; // actor whose turn it is (threads replay)
export const G_PAUSE = G_STOP + 4; // threads free mode: 1 = park at the next operation boundary (the pause barrier)
export const G_START_READY = G_STOP + 5; // threads free mode: workers primed and waiting at the start gate
export const G_START_GO = G_STOP + 6; // threads free mode: 1 = the gate is open, all start together
export const G_MB_DOORBELL = 8 * LINE; // bumped when a vCPU posts an exit to the VMM
// mmu notifiers: mn_active_invalidate_count and mn_invalidate_lock (memslot swaps wait for 0)
export const G_MN_ACTIVE = 9 * LINE;
export const G_MN_LOCK = G_MN_ACTIVE + 1;
// threads engine, free mode: the global step counter (its own line: every step of every actor adds to it)
export const G_LOG_STEP = 10 * LINE;
// the gmem inode's shared memory policy (struct shared_policy): its rwlock, then the tree's node count
export const G_SP_LOCK = 11 * LINE;
export const G_SP_LOCK_SLEEPERS = G_SP_LOCK + 1;
export const G_SP_COUNT = G_SP_LOCK + 4;
export const GLOBAL_WORDS = 12 * LINE;

// lockdep's lock-order graph, one record per (held class, acquired class): the first acquisition
// that made the dependency: who (+1, 0 = no such edge yet), the yield points of the two acquires
// (+1), whether the stack text is complete, its length, then the text (UTF-16 code units).
export const LOCK_CLASSES = 6;
export const E_WHO = 0;
export const E_HELD_AT = 1;
export const E_TAKEN_AT = 2;
export const E_READY = 3;
export const E_LEN = 4;
export const E_TEXT = 5;
export const EDGE_TEXT_MAX = 240;
export const EDGE_WORDS = E_TEXT + EDGE_TEXT_MAX;

// per slot: one line each
export const S_STATE = 0; // SlotState
export const S_BASE_GFN = 1;
export const S_NPAGES = 2;
export const S_PGOFF = 3;
export const S_FILE = 4; // 1 = bound to the gmem file, 0 = slot->gmem.file NULL
export const S_HVA_BASE = 5; // first index of this slot's userspace (HVA) pages
export const S_GENERATION = 6;
export const S_FLAGS = 7; // internal memslot flags: KVM_MEMSLOT_GMEM_ONLY
export const S_OBJECT = 8; // 1 while the struct kvm_memory_slot exists, 0 once kvm_free_memslot freed it (a deleted slot's words outlive it)
export const KVM_MEMSLOT_GMEM_ONLY = 1;
/** the gmem inode's flags word (G_GMEM_FLAGS): GUEST_MEMFD_FLAG_MMAP and GUEST_MEMFD_FLAG_INIT_SHARED, the uAPI's bit positions */
export const GMEM_INODE_MMAP = 1;
export const GMEM_INODE_INIT_SHARED = 2;

export const GmemFileState = {
  Live: 0,
  /** kvm_gmem_release took it off the inode's file list (under the invalidate lock): invalidations no longer walk it */
  Unlisted: 1,
  /** kvm_gmem_release returned and __fput went on: the gmem_file and its bindings are freed, the inode evicted */
  Freed: 2,
} as const;

export const SlotState = {
  Absent: 0,
  Valid: 1,
  /** KVM_MEMSLOT_INVALID copy installed; SPTEs may still exist */
  Invalid: 2,
  /** after kvm_arch_flush_shadow_memslot: no SPTE may exist for it */
  Flushed: 3,
} as const;

// per pfn word offsets (PFN_WORDS words each)
export const P_GEN = 0; // bumped on every free: an SPTE remembering an older gen is stale
export const P_REF = 1; // refcount
export const P_OWNER = 2; // PfnOwner
export const P_INDEX = 3; // file index (gmem) or HVA index (shared)
export const P_FLAGS = 4; // PF_UPTODATE | PF_LOCKED
export const P_CONTENT = 5; // content tag: what the guest/host last wrote (0 = zeroes)
export const P_RMAP = 6; // ghost: number of SPTEs mapping this pfn
export const P_RMAP_GFN = 7; // ghost: the gfn of the last SPTE installed for this pfn (for messages)
export const PFN_WORDS = 8;
export const PF_UPTODATE = 1;
export const PF_LOCKED = 2;
export const PF_FILE = 4; // a page-cache page: counted in FilePages/Unevictable and charged to its allocator
export const PF_HWPOISON = 8; // PG_hwpoison: memory_failure marked it (cleared when the page is freed: see ARCHITECTURE)
export const PF_HWPOISON_HANDLED = 16; // ghost: memory_failure's handling of the poison returned (I18 judges from here)
export const PF_ARCH_PREPARED = 32; // the arch state kvm_arch_gmem_prepare sets (SNP: the RMP entry assigned to the guest); .free_folio undoes it
export const PF_ALLOCATOR_SHIFT = 8; // the allocating actor's id, above the flag bits (memcg charge)

export const PfnOwner = {
  Free: 0,
  PageCache: 1,
  Hva: 2,
  /** removed from the page cache or HVA by truncation/discard, still referenced (being freed) */
  Removed: 3,
} as const;

// per gfn word offsets (GFN_WORDS words each)
export const F_ATTR = 0; // KVM_MEMORY_ATTRIBUTE_PRIVATE bit or 0
export const F_SPTE_PFN = 1; // pfn + 1, 0 = not present
export const F_SPTE_GEN = 2; // pfn generation at install
export const F_SPTE_FLAGS = 3; // SPTE_PRIVATE | SPTE_WRITABLE
export const F_EPOCH = 4; // ghost: bumped when the gfn's content may legitimately change
export const F_ZERO = 5; // ghost: ZERO_PRIVATE / ZERO_SHARED: the view was punched/discarded and must read zeroes until written
export const GFN_WORDS = 6;
export const SPTE_PRIVATE = 1;
export const SPTE_WRITABLE = 2;
/** the level of the leaf mapping the gfn, above the flag bits: 0 4K, 1 2M, 2 1G (a huge leaf is written on every gfn it covers) */
export const SPTE_LEVEL_SHIFT = 2;
export const SPTE_LEVEL_MASK = 3 << SPTE_LEVEL_SHIFT;
/** KVM_LPAGE_MIXED_FLAG in an lpage_info word (the kernel's bit 31; bit 30 here, the word being a signed Int32); the bits below count other reasons */
export const KVM_LPAGE_MIXED_FLAG = 1 << 30;
/** the model's bit for one reason of the count: the memslot's base_gfn and guest_memfd offset disagree in the level's low bits (kept apart so variant B50 can drop it) */
export const LPAGE_MISALIGNED = 1 << 29;
/** a pfn's folio word (huge pages on): 0 an order-0 folio, else the folio's level above FOLIO_LEVEL_SHIFT and the page's offset in it below */
export const FOLIO_LEVEL_SHIFT = 24;
/** the page belongs to the hugetlb pool (hugetlb-backed files): freed alone, it waits for its block's other pages instead of going to the 4K stack */
export const FOLIO_POOL = 1 << 23;
export const FOLIO_OFFSET_MASK = FOLIO_POOL - 1;
export const ZERO_PRIVATE = 1;
export const ZERO_SHARED = 2;

export const KVM_MEMORY_ATTRIBUTE_PRIVATE = 1 << 3;
export const INVALID_GFN = -1;

// per NUMA node: one line each. Node n owns pfns [N_PFN_BASE, N_PFN_BASE + N_CAPACITY) and the
// same stretch of the free stack.
export const N_FREE_TOP = 0;
export const N_POOL_LOCK = 1; // its zone lock (internal, not a yield point)
export const N_PFN_BASE = 2;
export const N_CAPACITY = 3;
export const N_FILE_PAGES = 4; // node meminfo FilePages
export const N_UNEVICTABLE = 5; // node meminfo Unevictable (gmem folios are unevictable)
export const N_ANON_PAGES = 6; // the VMM's shared (HVA) memory
export const N_NUMA_HIT = 7;
export const N_NUMA_MISS = 8;
export const N_NUMA_FOREIGN = 9;
export const N_INTERLEAVE_HIT = 10;
export const N_LOCAL_NODE = 11;
export const N_OTHER_NODE = 12;
/** huge pages on: the node's free 2M blocks (the buddy's order-9 free area), a stack of head pfns under the zone lock */
export const N_HUGE_TOP = 13;
export const N_HUGE_BASE = 14; // the stack's first word in the huge stack region
export const NODE_COUNTERS = ['numa_hit', 'numa_miss', 'numa_foreign', 'interleave_hit', 'local_node', 'other_node'] as const;
export const NODE_COUNTER_WORD: Record<(typeof NODE_COUNTERS)[number], number> = {
  numa_hit: N_NUMA_HIT,
  numa_miss: N_NUMA_MISS,
  numa_foreign: N_NUMA_FOREIGN,
  interleave_hit: N_INTERLEAVE_HIT,
  local_node: N_LOCAL_NODE,
  other_node: N_OTHER_NODE,
};

// the shared policy tree's nodes (struct sp_node): [start, end) file pages and the policy object
export const SPN_START = 0;
export const SPN_END = 1;
export const SPN_POLICY = 2;
export const SPN_WORDS = 3;
// a policy object (struct mempolicy of a shared policy): refcount, which scenario policy it holds,
// a generation bumped at each free (a stale pointer is detectable), live 1 / free 0
export const SPO_REF = 0;
export const SPO_PID = 1;
export const SPO_GEN = 2;
export const SPO_LIVE = 3;
export const SPO_WORDS = 4;

export interface LayoutConfig {
  nGfns: number;
  nSlots: number;
  filePages: number;
  hvaPages: number;
  nPfns: number;
  nActors: number;
  nNodes: number;
  /** mmu_lock's build (Scenario.mmuLock) */
  mmuLock: 'rwlock' | 'percpu';
  /** words reserved for a recorded schedule (threads replay); 0 when unused */
  scheduleWords: number;
  /** the shared policy tree's capacity in nodes, and its policy objects' (0 without a shared policy) */
  spNodes: number;
  spObjects: number;
  /** ghost words per file index for the policy runtime mbind calls committed there (0 without runtime mbind) */
  spGhostPages: number;
  /** per file index attribute words (kernel "next": gmem_inode.attributes); 0 elsewhere */
  gmemAttrPages: number;
  /** 4K pages in a 2M and in a 1G page when huge pages are on (Scenario.hugepages); 0: off, and no huge-page words exist */
  hugePages2m: number;
  hugePages1g: number;
  /** the level of the nodes' free huge blocks (1: 2M, the buddy's order 9 and hugetlb-2m; 2: hugetlb-1g's pages); 0: off */
  hugeBlockLevel: number;
}

export interface Layout extends LayoutConfig {
  actorBase: number;
  lockdepBase: number;
  nodeBase: number;
  /** per actor per node: gmem pages it allocated there that are still allocated (memcg numa_stat "file") */
  usageBase: number;
  slotBase: number;
  gfnBase: number;
  filemapBase: number; // per file index: pfn + 1
  bindingBase: number; // per file index: slot + 1
  hvaBase: number; // per HVA page: pfn + 1
  hostPteBase: number; // per gmem file index: the host user process's PTE, pfn + 1 (0: none)
  pfnBase: number;
  freeStackBase: number;
  spTreeBase: number; // the tree: SPN_WORDS per node, sorted by start
  spObjBase: number; // the policy objects: SPO_WORDS each
  spGhostBase: number; // per file index: the policy id runtime mbind calls committed there
  gmemAttrBase: number; // per file index: its memory attributes (kernel "next")
  hostPteClearsBase: number; // ghost, per file index: host PTEs removed there so far (kernel "next": I23 tells a PTE a conversion never unmapped)
  folioBase: number; // huge pages on, per pfn: its folio word (FOLIO_LEVEL_SHIFT)
  hugeStackBase: number; // huge pages on: each node's stack of free 2M blocks (N_HUGE_BASE)
  lpageBase: number; // huge pages on: per slot, per level (2M, 1G), lpageEntries lpage_info words (disallow_lpage)
  lpageEntries: number;
  scheduleBase: number; // decisions (actor per step)
  traceBase: number; // point per step, written by the actor that took it
  words: number;
  bytes: number;
}

const roundLine = (n: number) => Math.ceil(n / LINE) * LINE;

export function computeLayout(cfg: LayoutConfig): Layout {
  let at = GLOBAL_WORDS;
  const take = (words: number) => {
    const base = at;
    at = roundLine(at + words);
    return base;
  };
  const actorBase = take(cfg.nActors * ACTOR_WORDS);
  const lockdepBase = take(LOCK_CLASSES * LOCK_CLASSES * EDGE_WORDS);
  const nodeBase = take(cfg.nNodes * LINE);
  const usageBase = take(cfg.nActors * cfg.nNodes);
  const slotBase = take(cfg.nSlots * LINE);
  const gfnBase = take(cfg.nGfns * GFN_WORDS);
  const filemapBase = take(cfg.filePages);
  const bindingBase = take(cfg.filePages);
  const hvaBase = take(cfg.hvaPages);
  const hostPteBase = take(cfg.filePages);
  const pfnBase = take(cfg.nPfns * PFN_WORDS);
  const freeStackBase = take(cfg.nPfns);
  const spTreeBase = take(cfg.spNodes * SPN_WORDS);
  const spObjBase = take(cfg.spObjects * SPO_WORDS);
  const spGhostBase = take(cfg.spGhostPages);
  const gmemAttrBase = take(cfg.gmemAttrPages);
  const hostPteClearsBase = take(cfg.gmemAttrPages);
  const huge = cfg.hugePages2m > 0;
  const folioBase = take(huge ? cfg.nPfns : 0);
  const hugeStackBase = take(huge ? Math.floor(cfg.nPfns / (cfg.hugeBlockLevel === 2 ? cfg.hugePages1g : cfg.hugePages2m)) + cfg.nNodes : 0);
  // lpage_info_slot's index: (gfn >> shift) - (base_gfn >> shift), at most nGfns / 2M + 1 entries a slot
  const lpageEntries = huge ? Math.floor(cfg.nGfns / cfg.hugePages2m) + 2 : 0;
  const lpageBase = take(cfg.nSlots * 2 * lpageEntries);
  const scheduleBase = take(cfg.scheduleWords);
  const traceBase = take(cfg.scheduleWords);
  // Fields listed, not spread: V8 makes a spread followed by more properties very slow (~16 µs,
  // once per sim schedule), and an object literal gets all its fields in-object.
  return {
    nGfns: cfg.nGfns,
    nSlots: cfg.nSlots,
    filePages: cfg.filePages,
    hvaPages: cfg.hvaPages,
    nPfns: cfg.nPfns,
    nActors: cfg.nActors,
    nNodes: cfg.nNodes,
    mmuLock: cfg.mmuLock,
    scheduleWords: cfg.scheduleWords,
    spNodes: cfg.spNodes,
    spObjects: cfg.spObjects,
    spGhostPages: cfg.spGhostPages,
    gmemAttrPages: cfg.gmemAttrPages,
    hugePages2m: cfg.hugePages2m,
    hugePages1g: cfg.hugePages1g,
    hugeBlockLevel: cfg.hugeBlockLevel,
    actorBase,
    lockdepBase,
    nodeBase,
    usageBase,
    slotBase,
    gfnBase,
    filemapBase,
    bindingBase,
    hvaBase,
    hostPteBase,
    pfnBase,
    freeStackBase,
    spTreeBase,
    spObjBase,
    spGhostBase,
    gmemAttrBase,
    hostPteClearsBase,
    folioBase,
    hugeStackBase,
    lpageBase,
    lpageEntries,
    scheduleBase,
    traceBase,
    words: at,
    bytes: at * 4,
  };
}

export const actorWord = (l: Layout, actor: number, w: number) => l.actorBase + actor * ACTOR_WORDS + w;
export const slotWord = (l: Layout, slot: number, w: number) => l.slotBase + slot * LINE + w;
export const gfnWord = (l: Layout, gfn: number, w: number) => l.gfnBase + gfn * GFN_WORDS + w;
export const pfnWord = (l: Layout, pfn: number, w: number) => l.pfnBase + pfn * PFN_WORDS + w;
export const nodeWord = (l: Layout, node: number, w: number) => l.nodeBase + node * LINE + w;
export const usageWord = (l: Layout, actor: number, node: number) => l.usageBase + actor * l.nNodes + node;
export const edgeWord = (l: Layout, from: number, to: number, w: number) => l.lockdepBase + (from * LOCK_CLASSES + to) * EDGE_WORDS + w;
