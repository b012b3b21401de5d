// A device that DMAs to guest memory through the VMM's mapping of the guest_memfd (VFIO or iommufd
// mapping guest RAM, vhost, the series' selftest pinning with gup_test): each operation pins a
// random range of the file (pin_user_pages_fast, FOLL_LONGTERM | FOLL_WRITE), lets the device load
// and store through the pins `hold` times, then unpins. A page it cannot pin (private: the fault
// SIGBUSes; beyond i_size) is skipped. While a pin is held, a conversion of its page to private
// must refuse with -EAGAIN (kernel "next": guest_memfd owns the attributes).
import { Ctr, count, opBoundary, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { int, MAX_OPS, type Shape } from '../scenario/check.js';
import { pinUserPage, unpinUserPage } from '../mm/gup.js';
import { pfnContent, setPfnContent } from '../shm/pfn.js';
import { pause, randomRange, type BackgroundSpec } from './background.js';
import { registerPaths } from '../engine/fiber.js';

export interface PinnerSpec extends BackgroundSpec {
  /** DMA rounds per pin (each touches every pinned page once): how long a pin is held */
  hold: number;
}

export const PINNER_SHAPE: Shape<PinnerSpec> = { count: int(0, 16), ops: int(0, MAX_OPS), maxPages: int(1), hold: int(1, 10000) };
export const PINNER_NONE: PinnerSpec = { count: 0, ops: 0, maxPages: 1, hold: 4 };

export function* pinnerProgram(ctx: ActorCtx): Gen {
  yield P.start;
  const s = ctx.s;
  const spec = ctx.sc.pinner;
  let tag = 0;
  for (let op = 0; op < ctx.opsLimit && (yield opBoundary(ctx)); op++) {
    const [start, end] = randomRange(ctx, s.l.filePages, spec.maxPages);
    const pins: Array<[number, number]> = [];
    for (let i = start; i < end; i++) {
      const pfn = yield pinUserPage(ctx, i);
      if (pfn >= 0) pins.push([i, pfn]);
    }
    for (let h = 0; h < spec.hold && pins.length > 0; h++) {
      for (const [index, pfn] of pins) {
        yield P.dma;
        const write = ctx.rng.chance(0.5);
        count(ctx, Ctr.dmaAccesses);
        ctx.ev.dmaAccess(ctx, index, pfn, write);
        if (write) setPfnContent(s, pfn, ((ctx.id + 1) << 22) | (++tag & 0x3fffff));
        else pfnContent(s, pfn);
      }
      yield pause(ctx);
    }
    for (const [index, pfn] of pins) yield unpinUserPage(ctx, index, pfn);
    yield pause(ctx);
  }
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ pinnerProgram });
