// The bench regression check: each figure against a baseline, better or worse by its direction.
import { describe, expect, it } from 'vitest';
import { compareBench } from '../bench/compare.js';

const result = (schedules: number, bytes: number, nsOp: number) => ({ macro: { exploreSchedulesPerSec: schedules, memory: { numaInterleave: { bytesPerPage: bytes } } }, micro: [{ name: 'filemap lookup', nsPerOp: nsOp }] });

describe('compareBench', () => {
  it('judges each figure by its direction, within 5% as the same, and says when one is missing', () => {
    const rows = compareBench(result(1000, 100, 10), result(2000, 120, 10.2));
    const by = (name: string) => rows.find((r) => r.figure.startsWith(name))!;
    expect(by('explore on default')).toMatchObject({ 'now / baseline': '2.00x', verdict: 'better' });
    expect(by('shared state')).toMatchObject({ 'now / baseline': '1.20x', verdict: 'WORSE' });
    expect(by('micro: filemap lookup')).toMatchObject({ verdict: 'same (within 5%)' });
    expect(by('sim (steps/s)')).toMatchObject({ verdict: 'not in both' });
  });
});
