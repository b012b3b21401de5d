// A PFN walker taking speculative references (compaction's isolate scan, page_idle, /proc/kpageflags,
// memory-failure's get_hwpoison_page): folio_try_get on a random physical page, a look, folio_put.
// The reference is transient, but a conversion to private that counts references at that moment
// sees it and refuses with -EAGAIN (kernel "next"); the VMM's retry is what gets past it.
import { Ctr, count, opBoundary, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { pagePut, pageTryGet } from '../mm/page_alloc.js';
import { pause } from './background.js';
import { registerPaths } from '../engine/fiber.js';

export function* specRefProgram(ctx: ActorCtx): Gen {
  yield P.start;
  const s = ctx.s;
  for (let op = 0; op < ctx.opsLimit && (yield opBoundary(ctx)); op++) {
    const pfn = ctx.rng.below(s.l.nPfns);
    yield P['spec-ref'];
    if (pageTryGet(s, pfn)) {
      count(ctx, Ctr.specRefs);
      yield P['spec-put'];
      pagePut(ctx, pfn);
    }
    yield pause(ctx);
  }
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ specRefProgram });
