// The actor kinds, one entry each: its program, its scenario section (schema and the defaults a
// scenario without it gets), how many of it a scenario asks for and how many operations each
// does, how shrinking may reduce it, its report names, its pause and its NUMA placement key.
// Actor ids follow this order (vCPUs first, then the VMM, then the background kinds), so they
// are stable across engines and replays: a new kind goes at the end.
//
// Adding a kind: its program file (program, section type, schema, defaults) and an entry here.
import type { ActorCtx, Gen } from '../engine/ctx.js';
import type { ActorDef, Model } from '../engine/model.js';
import type { Scenario } from '../scenario/types.js';
import type { Shape } from '../scenario/check.js';
import { converterProgram } from './converter.js';
import { puncherProgram } from './puncher.js';
import { slotChurnProgram } from './slot_churn.js';
import { hostUserProgram } from './host_user.js';
import { preFaultProgram } from './pre_fault.js';
import { GMEM_CLOSE_NONE, GMEM_CLOSE_SHAPE, gmemCloseProgram } from './gmem_close.js';
import { memoryFailureProgram } from './memory_failure.js';
import { mmuNotifierProgram } from './mmu_notifier.js';
import { mbindProgram } from './mbind.js';
import { populateProgram } from './populate.js';
import { PINNER_NONE, PINNER_SHAPE, pinnerProgram, type PinnerSpec } from './pinner.js';
import { specRefProgram } from './spec_ref.js';
import { BACKGROUND_NONE, BACKGROUND_SHAPE, type BackgroundSpec } from './background.js';
import { VCPU_DEFAULTS, VCPU_SHAPE, vcpuProgram, type VcpuSpec } from './vcpu.js';
import { vmmIdle, vmmProgram } from './vmm.js';

export interface ActorKind<K extends string = string, S = unknown> {
  /** ctx.kind and the report's kind */
  kind: string;
  /** its scenario section and its numa.placement key */
  key: K;
  /** report name of instance i */
  name: (i: number) => string;
  program: (ctx: ActorCtx) => Gen;
  /** the scenario section: its schema and what a scenario without it gets (none: the one VMM of a VM) */
  section: { shape: Shape<S>; defaults: S } | null;
  count: (spec: S) => number;
  /** operations under sim; Infinity: until the vCPUs are done (no --ops override) */
  ops: (spec: S) => number;
  /** shrinking: fewer of it down to minCount, fewer operations down to minOps; `pass` orders the kinds (lower first) */
  shrink: { pass: number; minCount: number; minOps: number } | null;
  /** threads engine: its pause between operations, as a multiple of --pause-ms */
  pause: number;
  /** its operation count is its own: --ops and a threads duration do not override it */
  fixedOps?: boolean;
}

const kind = <K extends string, S>(k: ActorKind<K, S>) => k;

/** A background kind: a BackgroundSpec section (its own shape and defaults if given), shrinkable to none of it. */
const background = <K extends string>(key: K, kindName: string, names: string, program: (ctx: ActorCtx) => Gen, pause: number, o: { shape?: Shape<BackgroundSpec>; defaults?: BackgroundSpec; fixedOps?: boolean } = {}) =>
  kind<K, BackgroundSpec>({
    kind: kindName,
    key,
    name: (i) => `${names}${i}`,
    program,
    section: { shape: o.shape ?? BACKGROUND_SHAPE, defaults: o.defaults ?? BACKGROUND_NONE },
    count: (b) => b.count,
    ops: (b) => b.ops,
    shrink: { pass: 0, minCount: 0, minOps: 1 },
    pause,
    fixedOps: o.fixedOps,
  });

export const KINDS = [
  kind({
    kind: 'vcpu',
    key: 'vcpus',
    name: (i) => `vcpu${i}`,
    program: vcpuProgram,
    section: { shape: VCPU_SHAPE, defaults: VCPU_DEFAULTS },
    count: (v: VcpuSpec) => v.count,
    ops: (v: VcpuSpec) => v.ops,
    shrink: { pass: 1, minCount: 1, minOps: 0 },
    pause: 0,
  }),
  kind({ kind: 'vmm', key: 'vmm', name: () => 'vmm', program: vmmProgram, section: null, count: () => 1, ops: () => Infinity, shrink: null, pause: 0 }),
  background('converter', 'converter', 'converter', converterProgram, 1),
  background('puncher', 'puncher', 'puncher', puncherProgram, 1),
  // Memslot churn is a rare event in a VMM; pace it well below the other background actors.
  background('slotChurn', 'slot-churn', 'slotchurn', slotChurnProgram, 20),
  // a host process with the guest_memfd mapped (needs a file created with GUEST_MEMFD_FLAG_MMAP)
  background('hostUser', 'host-user', 'hostuser', hostUserProgram, 1),
  // KVM_PRE_FAULT_MEMORY on a vCPU of its own (pre_fault_memory_test's main thread)
  background('preFault', 'pre-fault', 'prefault', preFaultProgram, 1),
  // close(2) of the VMM's guest_memfd fd after `ops` waits, which kvm_gmem_release follows
  background('gmemClose', 'gmem-close', 'gmemclose', gmemCloseProgram, 2000, { shape: GMEM_CLOSE_SHAPE, defaults: GMEM_CLOSE_NONE, fixedOps: true }),
  // memory_failure() on random pages of the file (kvm_gmem_error_folio); rare, as machine checks are
  background('memoryFailure', 'memory-failure', 'mce', memoryFailureProgram, 20),
  // mmu-notifier invalidations of shared memory that keep the pages (NUMA balancing, KSM)
  background('mmuNotifier', 'mmu-notifier', 'numab', mmuNotifierProgram, 1),
  // mbind on the guest_memfd mapping at runtime (a process of its own each): needs numa.policySource "shared"
  background('mbind', 'mbind', 'mbind', mbindProgram, 1),
  // the launch thread of a confidential VM: kvm_gmem_populate under slots_lock (SNP LAUNCH_UPDATE, TDX INIT_MEM_REGION)
  background('populate', 'populate', 'launch', populateProgram, 1),
  // kernel "next": a device pinning guest memory through the VMM's mapping for DMA (needs the mmap flag)
  kind({
    kind: 'pinner',
    key: 'pinner',
    name: (i) => `dma${i}`,
    program: pinnerProgram,
    section: { shape: PINNER_SHAPE, defaults: PINNER_NONE },
    count: (p: PinnerSpec) => p.count,
    ops: (p: PinnerSpec) => p.ops,
    shrink: { pass: 0, minCount: 0, minOps: 1 },
    pause: 1,
  }),
  // speculative page references (a PFN walker: compaction, page_idle): transient, and a conversion may meet them
  background('specRef', 'spec-ref', 'pfnwalk', specRefProgram, 1),
] as const;

type Kinds = (typeof KINDS)[number];
/** The scenario sections the kinds declare: { vcpus: VcpuSpec; converter: BackgroundSpec; ... }. */
export type ActorSections = { [K in Kinds as K['section'] extends null ? never : K['key']]: K extends ActorKind<string, infer S> ? S : never };
/** A kind's numa.placement key (every kind has one, the VMM too). */
export type PlacementKey = Kinds['key'];
export const PLACEMENT_KEYS: readonly PlacementKey[] = KINDS.map((k) => k.key);
/** The kinds with a scenario section. */
export const SECTION_KINDS = KINDS.filter((k) => k.section !== null);

/** The section of `k` in `sc` (the VMM has none). */
const specOf = (sc: Scenario, k: ActorKind): unknown => (k.section ? (sc as unknown as Record<string, unknown>)[k.key] : undefined);
export const kindCount = (sc: Scenario, k: ActorKind) => k.count(specOf(sc, k));
export const kindOps = (sc: Scenario, k: ActorKind) => k.ops(specOf(sc, k));

/** numa.placement[key] for instance i: a node, or a list (instance i on list[i mod length]). */
function placementNode(sc: Scenario, key: PlacementKey, i: number): number {
  const p = sc.numa?.placement[key];
  if (p === undefined) return 0;
  return typeof p === 'number' ? p : p[i % p.length];
}

/** The actors of a scenario in id order. */
export function actorDefs(sc: Scenario): ActorDef[] {
  const defs: ActorDef[] = [];
  for (const k of KINDS as readonly ActorKind[]) {
    const n = kindCount(sc, k);
    for (let i = 0; i < n; i++) {
      const ops = kindOps(sc, k);
      defs.push({
        kind: k.kind,
        index: i,
        name: k.name(i),
        program: k.program,
        ops,
        fixedOps: ops === Infinity || k.fixedOps === true,
        node: placementNode(sc, k.key as PlacementKey, i),
        pauseMs: (base) => (k.pause === 0 || base <= 0 ? 0 : k.pause === 1 ? base : Math.max(1, k.pause * base)),
      });
    }
  }
  // The VMM has no operation boundary: it is parked for a barrier once it sleeps with no exit pending.
  const vcpus = defs.flatMap((d, id) => (d.kind === 'vcpu' ? [id] : []));
  const vmm = defs.findIndex((d) => d.kind === 'vmm');
  if (vmm >= 0) defs[vmm].idle = (s) => vmmIdle(s, vmm, vcpus);
  return defs;
}

/** How many actors a scenario has. */
export const actorCount = (sc: Scenario) => (KINDS as readonly ActorKind[]).reduce((n, k) => n + kindCount(sc, k), 0);

/** The model an engine runs for a scenario. */
export const modelOf = (sc: Scenario): Model => ({ sc, actors: actorDefs(sc) });

/** Each section-bearing kind's defaults, for a scenario that leaves the kind out. */
export const sectionDefaults = (): ActorSections => Object.fromEntries(SECTION_KINDS.map((k) => [k.key, structuredClone(k.section!.defaults)])) as ActorSections;
