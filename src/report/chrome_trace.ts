// Chrome Trace Event JSON (opens in Perfetto or chrome://tracing) of one sim schedule: a lane per
// actor whose slices are the kernel functions it was in (from the yield points it passed) with
// each step inside, and lanes for mmu_lock (readers, writer), the invalidation state (seq,
// in_progress, range) and attribute changes. Time is the step number (1 step = 1 µs).
import type { Scenario } from '../scenario/types.js';
import { actorDefs } from '../engine/actors.js';
import { POINT_NAMES, type PointName } from '../engine/points.js';
import { runSim, type SimOptions } from '../engine/sim.js';
import type { Shm } from '../shm/state.js';
import { F_ATTR, G_IN_PROGRESS, G_MMU_LOCK, G_RANGE_END, G_RANGE_START, G_SEQ, INVALID_GFN, gfnWord } from '../shm/layout.js';
import { rwReaders, rwWriter } from '../sync/locks.js';

/** The kernel function a yield point belongs to (the point is the operation about to happen). */
const FUNCTION_OF: Partial<Record<PointName, string>> = {
  'guest-access': 'guest access',
  hypercall: 'KVM_HC_MAP_GPA_RANGE',
  'exit-wait': 'KVM_RUN exit to the VMM',
  'fault-entry': 'kvm_mmu_page_fault',
  'srcu:read': 'kvm_mmu_page_fault',
  'seq-snapshot': 'kvm_mmu_faultin_pfn',
  'attr-read': 'kvm_mmu_faultin_pfn',
  'slot-check': 'kvm_mmu_faultin_pfn',
  'precheck-lockless': 'kvm_mmu_faultin_pfn',
  'precheck-lockless-2': 'kvm_mmu_faultin_pfn',
  gup: 'hva_to_pfn',
  'mmu_lock:read': 'kvm_tdp_mmu_map',
  'stale-check': 'is_page_fault_stale',
  'spte-install': 'kvm_tdp_mmu_map',
  'put-page': 'kvm_mmu_page_fault',
  'binding-check': 'kvm_gmem_get_pfn',
  'filemap-lookup': 'kvm_gmem_get_folio',
  folio_lock: 'kvm_gmem_get_folio',
  'pfn-alloc': 'kvm_gmem_get_folio',
  'filemap-insert': 'kvm_gmem_get_folio',
  'folio-zero': 'kvm_gmem_get_folio',
  truncate: 'truncate_inode_pages_range',
  'inv_lock:shared': 'filemap_invalidate_lock_shared',
  'inv_lock:exclusive': 'kvm_gmem_punch_hole',
  'mmu_lock:write': 'write_lock(mmu_lock)',
  'invalidate-begin': 'kvm_mmu_invalidate_begin',
  'range-add': 'kvm_mmu_invalidate_range_add',
  zap: 'kvm_zap_gfn_range',
  'zap-resched': 'kvm_zap_gfn_range',
  'invalidate-end:seq': 'kvm_mmu_invalidate_end',
  'invalidate-end:in_progress': 'kvm_mmu_invalidate_end',
  'tlb-flush': 'kvm_flush_remote_tlbs',
  slots_lock: 'kvm_vm_set_mem_attributes',
  'attr-store': 'kvm_vm_set_mem_attributes',
  'slot-invalidate': 'kvm_delete_memslot',
  'srcu:sync': 'synchronize_srcu',
  'slot-flush': 'kvm_delete_memslot',
  unbind: 'kvm_gmem_unbind',
  bind: 'kvm_gmem_bind',
  'slot-install': 'kvm_create_memslot',
  'hva-unmap': 'mmu notifier: invalidate_range',
  'vmm-wait': 'VMM: wait for an exit',
  'vmm-serve': 'VMM: serve an exit',
};

interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  pid: number;
  tid: number;
  dur?: number;
  s?: string;
  cat?: string;
  args?: Record<string, unknown>;
}

const PID = 1;
const STATE_TID = 1000;
const ATTR_TID = 1001;

export function chromeTrace(sc: Scenario, o: SimOptions): { traceEvents: TraceEvent[]; displayTimeUnit: string; otherData: Record<string, unknown> } {
  const names = actorDefs(sc).map((d) => d.name);
  const ev: TraceEvent[] = [{ name: 'process_name', ph: 'M', ts: 0, pid: PID, tid: 0, args: { name: `gmemsim: ${sc.name}` } }];
  names.forEach((n, tid) => ev.push({ name: 'thread_name', ph: 'M', ts: 0, pid: PID, tid, args: { name: n } }));
  ev.push({ name: 'thread_name', ph: 'M', ts: 0, pid: PID, tid: STATE_TID, args: { name: 'mmu_lock / invalidation state' } });
  ev.push({ name: 'thread_name', ph: 'M', ts: 0, pid: PID, tid: ATTR_TID, args: { name: 'memory attributes' } });
  const open = new Map<number, { fn: string; since: number }>();
  let attrs: Int32Array | null = null;
  const onStep = (step: number, actor: number, from: number, to: number, s: Shm) => {
    const ts = step;
    const fn = FUNCTION_OF[POINT_NAMES[from] as PointName] ?? POINT_NAMES[from];
    const cur = open.get(actor);
    if (!cur || cur.fn !== fn) {
      if (cur) ev.push({ name: cur.fn, ph: 'E', ts, pid: PID, tid: actor });
      ev.push({ name: fn, ph: 'B', ts, pid: PID, tid: actor, cat: 'kernel' });
      open.set(actor, { fn, since: ts });
    }
    ev.push({ name: POINT_NAMES[from], ph: 'X', ts, dur: 1, pid: PID, tid: actor, cat: 'step', args: { step, to: to < 0 ? 'done' : POINT_NAMES[to] } });
    if (to < 0) {
      ev.push({ name: fn, ph: 'E', ts: ts + 1, pid: PID, tid: actor });
      open.delete(actor);
    }
    const a = s.i32;
    const rs = a[G_RANGE_START];
    ev.push({ name: 'mmu_lock', ph: 'C', ts, pid: PID, tid: STATE_TID, args: { readers: rwReaders(a, G_MMU_LOCK), writer: rwWriter(a, G_MMU_LOCK) ? 1 : 0 } });
    ev.push({ name: 'mmu_invalidate', ph: 'C', ts, pid: PID, tid: STATE_TID, args: { seq: a[G_SEQ], in_progress: a[G_IN_PROGRESS] } });
    ev.push({ name: 'range', ph: 'C', ts, pid: PID, tid: STATE_TID, args: rs === INVALID_GFN ? { start: -1, end: -1 } : { start: rs, end: a[G_RANGE_END] } });
    if (!attrs) attrs = new Int32Array(s.l.nGfns);
    for (let g = 0; g < s.l.nGfns; g++) {
      const v = a[gfnWord(s.l, g, F_ATTR)];
      if (v !== attrs[g]) {
        ev.push({ name: `gfn ${g} -> ${v ? 'private' : 'shared'}`, ph: 'i', s: 't', ts, pid: PID, tid: ATTR_TID, cat: 'attribute', args: { gfn: g, by: names[actor] } });
        attrs[g] = v;
      }
    }
  };
  const r = runSim(sc, { ...o, onStep });
  for (const [actor, cur] of open) ev.push({ name: cur.fn, ph: 'E', ts: r.steps + 1, pid: PID, tid: actor });
  if (r.violation) {
    ev.push({ name: `VIOLATION ${r.violation.invariant}`, ph: 'i', s: 'g', ts: r.steps, pid: PID, tid: Math.max(0, r.violation.actor), cat: 'violation', args: { message: r.violation.message } });
  }
  return { traceEvents: ev, displayTimeUnit: 'ns', otherData: { scenario: sc.name, seed: o.seed, variant: o.variant, steps: r.steps, traceHash: r.traceHash, timeUnit: '1 µs = 1 step' } };
}
