// Counters gathered from every actor's words in the shared state.
import type { Scenario } from '../scenario/types.js';
import { COUNTERS, actorWord, type CounterName } from '../shm/layout.js';
import type { Shm } from '../shm/state.js';
import { actorDefs } from './actors.js';

export type Counters = Record<CounterName, number>;

export interface ActorStats {
  name: string;
  kind: string;
  counters: Counters;
}

export interface Stats {
  total: Counters;
  actors: ActorStats[];
}

export function zeroCounters(): Counters {
  return Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Counters;
}

export function collectStats(s: Shm, sc: Scenario): Stats {
  const total = zeroCounters();
  const actors = actorDefs(sc).map((def, id) => {
    const counters = zeroCounters();
    COUNTERS.forEach((c, i) => {
      const v = Atomics.load(s.i32, actorWord(s.l, id, i));
      counters[c] = v;
      total[c] += v;
    });
    return { name: def.name, kind: def.kind, counters };
  });
  return { total, actors };
}

/** Add b into a (per actor by position, and totals). */
export function addStats(a: Stats, b: Stats): void {
  for (const c of COUNTERS) a.total[c] += b.total[c];
  b.actors.forEach((x, i) => {
    if (!a.actors[i]) a.actors[i] = { name: x.name, kind: x.kind, counters: zeroCounters() };
    for (const c of COUNTERS) a.actors[i].counters[c] += x.counters[c];
  });
}

export const emptyStats = (): Stats => ({ total: zeroCounters(), actors: [] });
