// Built-in scenarios.
import type { Scenario } from './types.js';

/** 4 vCPUs on two hybrid memslots of one guest_memfd, with guest conversions (explicit, by
 *  hypercall, and implicit, by memory-fault exit), a background converter, a puncher and memslot
 *  churn. Small on purpose: exploration wants few pages and many schedules. */
export const DEFAULT_SCENARIO: Scenario = {
  name: 'default',
  description: '4 vCPUs fault on 2 hybrid memslots (32 pages) while the guest converts by hypercall, the VMM serves memory-fault exits, a converter, a puncher and memslot churn race them',
  vmType: 'coco',
  gmemPages: 32,
  slots: [
    { baseGfn: 0, npages: 16, gmemOffset: 0 },
    { baseGfn: 16, npages: 16, gmemOffset: 16 },
  ],
  pfnPool: 96,
  vcpus: {
    count: 4,
    ops: 10,
    pattern: 'uniform',
    hotPages: 2,
    hotFraction: 0.8,
    privateFraction: 0.5,
    writeFraction: 0.5,
    conversionRate: 0.15,
    conversionMaxPages: 4,
    fallocateOnConversion: true,
  },
  converter: { count: 1, ops: 3, maxPages: 8 },
  puncher: { count: 1, ops: 3, maxPages: 8 },
  slotChurn: { count: 1, ops: 1, maxPages: 1 },
  starvationRetries: 500,
  maxSteps: 20000,
  stopWhen: 'duration',
  numa: null,
};

/** private_mem_conversions_test's PUNCH_HOLE test as a race: all memory private, no conversions,
 *  two punchers re-allocating under 2 vCPUs. Here a missing fault-side check shows as I1. */
export const PUNCH_RACE_SCENARIO: Scenario = {
  ...DEFAULT_SCENARIO,
  name: 'punch-race',
  description: '2 vCPUs fault on private memory while 2 punchers punch holes and re-allocate (no conversions)',
  gmemPages: 16,
  slots: [{ baseGfn: 0, npages: 16, gmemOffset: 0 }],
  pfnPool: 48,
  vcpus: { ...DEFAULT_SCENARIO.vcpus, count: 2, ops: 12, privateFraction: 1, conversionRate: 0 },
  converter: { count: 0, ops: 0, maxPages: 1 },
  puncher: { count: 2, ops: 3, maxPages: 6 },
  slotChurn: { count: 0, ops: 0, maxPages: 1 },
};

export const BUILTIN_SCENARIOS: Record<string, Scenario> = {
  default: DEFAULT_SCENARIO,
  'punch-race': PUNCH_RACE_SCENARIO,
};
