// The control plane between the threads engine and its actor workers (comlink calls). The data
// plane is the SharedArrayBuffer: a worker inside its synchronous actor loop reads no messages,
// so a request to pause or stop a *running* actor is a word in the buffer (G_PAUSE, G_STOP), and
// these calls are made only when the actor has handed control back (parked or done).
import type { Scenario } from '../scenario/types.js';
import type { InvariantId } from '../check/invariants.js';
import type { LayoutConfig } from '../shm/layout.js';
import type { VariantId } from '../variants.js';
import type { Violation } from './ctx.js';

export interface WorkerInput {
  sab: SharedArrayBuffer;
  layout: LayoutConfig;
  scenario: Scenario;
  actor: number;
  seed: number;
  variant: VariantId | null;
  invariants: InvariantId[] | null;
  mode: 'free' | 'replay';
  /** operations per actor; 'scenario': the scenario's own counts; undefined: until stopped (replay: the scenario's) */
  ops?: number | 'scenario';
  pauseMs: number;
  scheduleLength: number;
  /** free mode: 0 off; 1-3 spin briefly at random yield points to widen race windows */
  jitter: number;
}

export interface ActorRunState {
  /** parked: at an operation boundary, the pause barrier is up; done: the program returned or was stopped */
  state: 'parked' | 'done';
  /** the violation this actor reported (only the first of the run is reported at all) */
  violation: Violation | null;
}

/** What only the worker knows (the counters are in the shared buffer). */
export interface ActorSnapshot {
  actor: number;
  parks: number;
  parkedMs: number;
  /** jitter delays injected at yield points */
  jitterSpins: number;
  heapUsedBytes: number;
  /** the exact totals behind the time counters (by counter index; 0 = not a time counter): Int32 words wrap after 2^32 µs (71 min) */
  exactUs: number[];
}

export interface ActorApi {
  /** attach to the buffer and run the actor until it parks or is done */
  start(input: WorkerInput): ActorRunState;
  /** leave the park and run on */
  resume(): ActorRunState;
  /** a parked actor leaves its loop at the boundary where it waits; runs to its end */
  stop(): ActorRunState;
  snapshot(): ActorSnapshot;
}
