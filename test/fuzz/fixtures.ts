// The fuzzer's raw material, made once per session with gmemsim itself: a replay file and tokens
// from a real explore --variant B1 --save, shard outputs for merge, the compat (v1) tokens.
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { BUILTIN_SCENARIOS } from '../../src/scenario/builtins.js';
import type { Fixtures } from './gen.js';

async function gmemsim(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

export async function makeFixtures(root = mkdtempSync(join(tmpdir(), 'gmemsim-fuzz-'))): Promise<Fixtures> {
  mkdirSync(root, { recursive: true });
  const file = join(root, 'b1.json');
  const e = await gmemsim('explore', '--variant', 'B1', '--save', file, '--json');
  if (e.code !== 1) throw new Error(`fixtures: explore --variant B1 --save gave exit ${e.code}: ${e.err}`);
  const found = (JSON.parse(e.out) as { violations: Array<{ replay: string; shrunk?: { originalReplay?: string } }> }).violations[0]!;
  const replayText = readFileSync(file, 'utf8');
  const shards: string[] = [];
  for (const shard of ['0/2', '1/2']) {
    const r = await gmemsim('explore', '--scenario', 'litmus-punch', '--variant', 'B1', '--schedules', '6', '--shard', shard, '--json');
    if (r.code > 1) throw new Error(`fixtures: explore --shard ${shard} gave exit ${r.code}: ${r.err}`);
    shards.push(r.out);
  }
  const d = await gmemsim('explore', '--scenario', 'litmus-convert', '--variant', 'B4', '--strategy', 'dfs', '--schedules', '200', '--json');
  const dfsToken = (JSON.parse(d.out) as { violations: Array<{ replay: string }> }).violations[0]?.replay;
  const compat = JSON.parse(readFileSync(new URL('../fixtures/compat-v1.json', import.meta.url), 'utf8')) as { tokens: Array<{ token: string }> };
  const v1Tokens = compat.tokens.map((t) => t.token).sort((a, b) => a.length - b.length).slice(0, 6);
  return {
    root,
    replayText,
    replay: JSON.parse(replayText) as Record<string, unknown>,
    tokens: [found.replay, ...(found.shrunk?.originalReplay ? [found.shrunk.originalReplay] : []), ...(dfsToken ? [dfsToken] : [])],
    v1Tokens,
    shards,
    builtins: JSON.parse(JSON.stringify(BUILTIN_SCENARIOS)) as Fixtures['builtins'],
  };
}
