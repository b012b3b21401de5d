// bench/profile.ts's summary of a CPU profile: self time per function, largest first.
import { describe, expect, it } from 'vitest';
import { topSelf } from '../bench/profile.js';

const frame = (functionName: string, line: number) => ({ functionName, url: 'file:///x/src/kvm/mmu.js', lineNumber: line - 1 });

describe('bench:profile', () => {
  it('adds each sample to the function it landed in, largest first, with its share', () => {
    const p = {
      nodes: [
        { id: 1, callFrame: frame('', 1), children: [2, 3] },
        { id: 2, callFrame: frame('kvmMmuDoPageFault', 47) },
        { id: 3, callFrame: frame('kvmTdpMmuMap', 215) },
      ],
      samples: [2, 3, 2, 2, 1],
      timeDeltas: [1000, 2000, 3000, 1000, 3000],
    };
    const { totalMs, rows } = topSelf(p, 2);
    expect(totalMs).toBe(10);
    expect(rows).toEqual([
      { ms: 5, share: 0.5, fn: 'kvmMmuDoPageFault kvm/mmu.js:47' },
      { ms: 3, share: 0.3, fn: '(anonymous) kvm/mmu.js:1' },
    ]);
  });
});
