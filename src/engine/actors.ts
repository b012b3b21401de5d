// The actors of a scenario, in a fixed order (ids are stable across engines and replays):
// vCPUs 0..n-1, the VMM, converters, punchers, memslot churners.
import type { Scenario } from '../scenario/types.js';
import type { Shm } from '../shm/state.js';
import type { Bugs } from '../variants.js';
import type { InvariantId } from '../check/invariant-ids.js';
import { actorBase, Wait, type ActorCtx, type ActorKind, type Gen } from './ctx.js';
import { Prng, mixSeed } from './prng.js';
import { COUNTERS } from '../shm/layout.js';
import { numaCtxFor } from '../mm/policy.js';
import { vcpuProgram } from '../workload/vcpu.js';
import { vmmProgram } from '../workload/vmm.js';
import { converterProgram, puncherProgram, slotChurnProgram } from '../workload/background.js';

export interface ActorDef {
  kind: ActorKind;
  index: number;
  name: string;
  program: (ctx: ActorCtx) => Gen;
  /** operations under `sim` */
  ops: number;
}

export function actorDefs(sc: Scenario): ActorDef[] {
  const defs: ActorDef[] = [];
  for (let i = 0; i < sc.vcpus.count; i++) defs.push({ kind: 'vcpu', index: i, name: `vcpu${i}`, program: vcpuProgram, ops: sc.vcpus.ops });
  defs.push({ kind: 'vmm', index: 0, name: 'vmm', program: vmmProgram, ops: Infinity });
  for (let i = 0; i < sc.converter.count; i++) defs.push({ kind: 'converter', index: i, name: `converter${i}`, program: converterProgram, ops: sc.converter.ops });
  for (let i = 0; i < sc.puncher.count; i++) defs.push({ kind: 'puncher', index: i, name: `puncher${i}`, program: puncherProgram, ops: sc.puncher.ops });
  for (let i = 0; i < sc.slotChurn.count; i++) defs.push({ kind: 'slot-churn', index: i, name: `slotchurn${i}`, program: slotChurnProgram, ops: sc.slotChurn.ops });
  return defs;
}

export interface CtxOptions {
  s: Shm;
  sc: Scenario;
  seed: number;
  bugs: Bugs;
  report: (ctx: ActorCtx, invariant: InvariantId, message: string) => void;
  stopping: () => boolean;
  /** threads engine: the pause barrier is up (default: never) */
  parking?: () => boolean;
  /** override the per-kind op counts (threads: Infinity until --duration ends, or --ops) */
  opsOverride?: number;
  clock?: (() => number) | null;
  pauseMs?: number;
}

export function makeCtx(def: ActorDef, id: number, o: CtxOptions): ActorCtx {
  const ctx: ActorCtx = {
    id,
    kind: def.kind,
    index: def.index,
    name: def.name,
    s: o.s,
    rng: new Prng(mixSeed(o.seed, (o.sc.actorStreams?.[id] ?? id) + 1)),
    bugs: o.bugs,
    wait: Wait.None,
    waitArg: 0,
    waitArg2: 0,
    stopping: o.stopping,
    parking: o.parking ?? never,
    report: (inv, msg) => o.report(ctx, inv, msg),
    base: actorBase(o.s, id),
    sc: o.sc,
    opsLimit: def.kind === 'vmm' ? Infinity : (o.opsOverride ?? def.ops),
    clock: o.clock ?? null,
    pauseMs: pauseFor(def.kind, o.pauseMs ?? 0),
    numa: numaCtxFor(o.sc, def.kind, def.index, o.s.sab),
    mmuLockedAt: -1,
    usAcc: new Float64Array(COUNTERS.length),
    invBegan: [],
    fault: null,
  };
  return ctx;
}

const never = () => false;

function pauseFor(kind: ActorKind, pauseMs: number): number {
  if (kind === 'vcpu' || kind === 'vmm' || pauseMs <= 0) return 0;
  // Memslot churn is a rare event in a VMM; pace it well below the other background actors.
  return kind === 'slot-churn' ? Math.max(1, 20 * pauseMs) : pauseMs;
}
