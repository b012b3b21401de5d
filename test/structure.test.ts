// The code's shape, checked: the rules ARCHITECTURE.md states, so that a change that breaks one
// fails here rather than in review. Each rule reads the sources as text.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { POINT_NAMES, POINTS_VERSION } from '../src/engine/points.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir))) {
    const p = join(dir, e);
    if (statSync(join(ROOT, p)).isDirectory()) out.push(...tsFiles(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}
const text = (f: string) => readFileSync(join(ROOT, f), 'utf8');
const imports = (f: string) => [...text(f).matchAll(/^import\s+(type\s+)?\{([^}]*)\}\s+from\s+'([^']+)'/gm)].map((m) => ({ typeOnly: !!m[1], names: m[2].split(',').map((x) => x.trim().replace(/^type\s+/, '')).filter(Boolean), from: m[3] }));
const ALL = [...tsFiles('src'), ...tsFiles('workers'), ...tsFiles('bench'), ...tsFiles('test')];

describe('yield points', () => {
  it('are append-only: every id a saved token may hold still names the same point (POINTS_VERSION 1)', () => {
    const pinned = ['start', 'guest-access', 'hypercall', 'exit-wait', 'fault-entry', 'srcu:read', 'seq-snapshot', 'attr-read', 'slot-check', 'precheck-lockless', 'precheck-lockless-2', 'gup', 'mmu_lock:read', 'stale-check', 'spte-install', 'put-page', 'binding-check', 'filemap-lookup', 'folio_lock', 'pfn-alloc', 'filemap-insert', 'folio-zero', 'truncate', 'inv_lock:shared', 'inv_lock:exclusive', 'mmu_lock:write', 'invalidate-begin', 'range-add', 'zap', 'zap-resched', 'invalidate-end:seq', 'invalidate-end:in_progress', 'tlb-flush', 'slots_lock', 'attr-store', 'slot-invalidate', 'srcu:sync', 'slot-flush', 'unbind', 'bind', 'slot-install', 'hva-unmap', 'vmm-wait', 'vmm-serve', 'park', 'init-wait'];
    expect(POINTS_VERSION).toBe(1);
    expect(POINT_NAMES.slice(0, pinned.length)).toEqual(pinned);
  });
});

describe('shared state', () => {
  const OFFSET = /^(G|F|P|S|A|N|E|SPN|SPO)_[A-Z0-9_]+$|Word$|^C$/;
  const LAYOUT_FIELDS = /\.(actorBase|lockdepBase|nodeBase|usageBase|slotBase|gfnBase|filemapBase|bindingBase|hvaBase|pfnBase|freeStackBase|spTreeBase|spObjBase|spGhostBase|scheduleBase|traceBase)\b/;

  it('no file outside src/shm/ uses a word offset: no offset constant or *Word function imported from the layout, no layout base field', () => {
    const offenders: string[] = [];
    for (const f of ALL) {
      if (f.startsWith('src/shm/')) continue;
      for (const im of imports(f)) {
        if (!im.from.endsWith('shm/layout.js')) continue;
        for (const n of im.names) if (OFFSET.test(n) && n !== 'PF_ALLOCATOR_SHIFT' && !/^PF_/.test(n)) offenders.push(`${f}: imports ${n}`);
      }
      if (LAYOUT_FIELDS.test(text(f))) offenders.push(`${f}: uses a layout base field`);
    }
    expect(offenders).toEqual([]);
  });
});

describe('layering', () => {
  const importsFrom = (f: string, dir: string) => imports(f).some((im) => !im.typeOnly && new RegExp(`(^|/)${dir}/`).test(im.from.replace(/^(\.\.\/)+|^\.\//, '')));

  it('kernel paths never call a checker: src/kvm, src/gmem, src/mm, src/sync, src/shm import nothing from src/check', () => {
    const offenders = ['src/kvm', 'src/gmem', 'src/mm', 'src/sync', 'src/shm'].flatMap(tsFiles).filter((f) => importsFrom(f, 'check'));
    expect(offenders).toEqual([]);
  });

  it('the checkers never read the variant: no `bugs` in src/check', () => {
    const offenders = tsFiles('src/check').filter((f) => /\bbugs\b/.test(text(f)));
    expect(offenders).toEqual([]);
  });

  it('the engine never imports the workload or the campaigns', () => {
    const offenders = tsFiles('src/engine').filter((f) => importsFrom(f, 'workload') || importsFrom(f, 'explore'));
    expect(offenders).toEqual([]);
  });
});

describe('ARCHITECTURE.md', () => {
  const arch = text('ARCHITECTURE.md');
  /** The files listed under a "Touches:" line of a section of "## Adding ...". */
  function touches(what: string): string[] {
    const m = new RegExp(`### ${what}\\n[\\s\\S]*?Touches:\\n((?:- .*\\n)+)`).exec(arch);
    if (!m) throw new Error(`ARCHITECTURE.md has no "### ${what}" section with a "Touches:" list`);
    return [...m[1].matchAll(/^- `([^`]+)`/gm)].map((x) => x[1]);
  }

  it.each(['A new actor kind', 'A new invariant', 'A new yield point'])('%s touches at most 3 files, and the files exist', (what) => {
    const files = touches(what);
    expect(files.length).toBeGreaterThan(0);
    expect(files.length).toBeLessThanOrEqual(3);
    for (const f of files) if (!f.includes('<')) expect(() => statSync(join(ROOT, f)), f).not.toThrow();
  });
});

describe('kernel paths', () => {
  it('are called through the engine, not with yield* (a step resumes one frame: engine/fiber.ts)', () => {
    const offenders = tsFiles('src').filter((f) => /yield\*/.test(text(f).replace(/\/\/.*$/gm, '').replace(/`[^`]*`/g, '')));
    expect(offenders).toEqual([]);
  });

  it('every generator function a module declares is named with registerPaths in that module (lockdep names callers from the Fiber)', () => {
    const missing: string[] = [];
    for (const f of tsFiles('src')) {
      // the engine's own frames (opBoundary, taskWorkRun) are left out of lockdep's stacks, as before the Fiber; shrink's candidates are not a kernel path
      if (f.startsWith('src/engine/') || f.endsWith('explore/shrink.ts')) continue;
      const src = text(f);
      const declared = [...src.matchAll(/^(?:export )?function\* (\w+)/gm)].map((m) => m[1]);
      const registered = new Set([...src.matchAll(/registerPaths\(\{([^}]*)\}\)/g)].flatMap((m) => m[1].split(',').map((x) => x.trim())));
      for (const name of declared) if (!registered.has(name)) missing.push(`${f}: ${name}`);
    }
    expect(missing).toEqual([]);
  });
});
