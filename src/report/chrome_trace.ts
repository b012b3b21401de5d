// Chrome Trace Event JSON (opens in Perfetto or chrome://tracing) of one sim schedule: a lane per
// actor whose slices are the kernel functions it was in (from the yield points it passed) with
// each step inside, and lanes for mmu_lock (readers, writer), the invalidation state (seq,
// in_progress, range) and attribute changes. Time is the step number (1 step = 1 µs).
import type { Model } from '../engine/model.js';
import { FUNCTION_OF_POINT, POINT_NAMES } from '../engine/points.js';
import { runSim, type SimOptions } from '../engine/sim.js';
import type { Shm } from '../shm/state.js';
import { memAttrOfGfn } from '../shm/attr.js';
import { INVALID_GFN, LOCK_WORDS, mmuInvalidateInProgress, mmuInvalidateRangeEnd, mmuInvalidateRangeStart, mmuInvalidateSeq } from '../shm/kvm.js';
import { rwReaders, rwWriter } from '../sync/locks.js';

export interface TraceEvent {
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

export function chromeTrace(model: Model, o: SimOptions): { traceEvents: TraceEvent[]; displayTimeUnit: string; otherData: Record<string, unknown> } {
  const sc = model.sc;
  const names = model.actors.map((d) => d.name);
  const ev: TraceEvent[] = [{ name: 'process_name', ph: 'M', ts: 0, pid: PID, tid: 0, args: { name: `gmemsim: ${sc.name}` } }];
  names.forEach((n, tid) => ev.push({ name: 'thread_name', ph: 'M', ts: 0, pid: PID, tid, args: { name: n } }));
  ev.push({ name: 'thread_name', ph: 'M', ts: 0, pid: PID, tid: STATE_TID, args: { name: 'mmu_lock / invalidation state' } });
  ev.push({ name: 'thread_name', ph: 'M', ts: 0, pid: PID, tid: ATTR_TID, args: { name: 'memory attributes' } });
  const open = new Map<number, { fn: string; since: number }>();
  let attrs: Int32Array | null = null;
  const onStep = (step: number, actor: number, from: number, to: number, s: Shm) => {
    const ts = step;
    const fn = FUNCTION_OF_POINT[from];
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
    const rs = mmuInvalidateRangeStart(s);
    ev.push({ name: 'mmu_lock', ph: 'C', ts, pid: PID, tid: STATE_TID, args: { readers: rwReaders(s.i32, LOCK_WORDS.mmuLock), writer: rwWriter(s.i32, LOCK_WORDS.mmuLock) ? 1 : 0 } });
    ev.push({ name: 'mmu_invalidate', ph: 'C', ts, pid: PID, tid: STATE_TID, args: { seq: mmuInvalidateSeq(s), in_progress: mmuInvalidateInProgress(s) } });
    ev.push({ name: 'range', ph: 'C', ts, pid: PID, tid: STATE_TID, args: rs === INVALID_GFN ? { start: -1, end: -1 } : { start: rs, end: mmuInvalidateRangeEnd(s) } });
    if (!attrs) attrs = new Int32Array(s.l.nGfns);
    for (let g = 0; g < s.l.nGfns; g++) {
      const v = memAttrOfGfn(s, g);
      if (v !== attrs[g]) {
        ev.push({ name: `gfn ${g} -> ${v ? 'private' : 'shared'}`, ph: 'i', s: 't', ts, pid: PID, tid: ATTR_TID, cat: 'attribute', args: { gfn: g, by: names[actor] } });
        attrs[g] = v;
      }
    }
  };
  const r = runSim(model, { ...o, onStep });
  for (const [actor, cur] of open) ev.push({ name: cur.fn, ph: 'E', ts: r.steps + 1, pid: PID, tid: actor });
  if (r.violation) {
    ev.push({ name: `VIOLATION ${r.violation.invariant}`, ph: 'i', s: 'g', ts: r.steps, pid: PID, tid: Math.max(0, r.violation.actor), cat: 'violation', args: { message: r.violation.message } });
  }
  return { traceEvents: ev, displayTimeUnit: 'ns', otherData: { scenario: sc.name, seed: o.seed, variant: o.variant, steps: r.steps, traceHash: r.traceHash, timeUnit: '1 µs = 1 step' } };
}
