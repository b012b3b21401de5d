// explore --shard auto: the shard from a batch engine's environment (src/explore/shard_env.ts).
import { describe, expect, it } from 'vitest';
import { ShardEnvError, shardFromEnv, type Env } from '../../src/explore/shard_env.js';
import { cli } from '../helpers.js';
import { main } from '../../src/cli/main.js';

const err = (env: Env) => {
  try {
    shardFromEnv(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ShardEnvError);
    const m = (e as Error).message;
    expect(m).not.toMatch(/\n/);
    return m;
  }
  throw new Error(`no error for ${JSON.stringify(env)}`);
};

describe('shardFromEnv', () => {
  it('reads each engine\'s variables', () => {
    const cases: Array<[Env, number, number, string]> = [
      [{ GMEMSIM_SHARD: '2/5' }, 2, 5, 'GMEMSIM_SHARD'],
      [{ GMEMSIM_SHARD_INDEX: '1', GMEMSIM_SHARD_COUNT: '4' }, 1, 4, 'GMEMSIM_SHARD_INDEX'],
      [{ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '8' }, 3, 8, 'SLURM_ARRAY_TASK_ID'],
      // --array=1-8: ids from 1
      [{ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '8', SLURM_ARRAY_TASK_COUNT: '8' }, 0, 8, 'SLURM_ARRAY_TASK_ID'],
      [{ SLURM_ARRAY_TASK_ID: '8', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '8' }, 7, 8, 'SLURM_ARRAY_TASK_ID'],
      // --array=10-40:10
      [{ SLURM_ARRAY_TASK_ID: '30', SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_MAX: '40', SLURM_ARRAY_TASK_STEP: '10', SLURM_ARRAY_TASK_COUNT: '4' }, 2, 4, 'SLURM_ARRAY_TASK_ID'],
      [{ JOB_COMPLETION_INDEX: '0', GMEMSIM_SHARD_COUNT: '3' }, 0, 3, 'JOB_COMPLETION_INDEX'],
      [{ CI_NODE_INDEX: '1', CI_NODE_TOTAL: '2' }, 0, 2, 'CI_NODE_INDEX'],
      [{ CI_NODE_INDEX: '2', CI_NODE_TOTAL: '2' }, 1, 2, 'CI_NODE_INDEX'],
      [{ CIRCLE_NODE_INDEX: '0', CIRCLE_NODE_TOTAL: '1' }, 0, 1, 'CIRCLE_NODE_INDEX'],
      [{ BUILDKITE_PARALLEL_JOB: '5', BUILDKITE_PARALLEL_JOB_COUNT: '6' }, 5, 6, 'BUILDKITE_PARALLEL_JOB'],
    ];
    for (const [env, index, count, source] of cases) expect(shardFromEnv(env), JSON.stringify(env)).toEqual({ index, count, source });
  });

  it('takes the first rule whose index variable is set, in the documented order', () => {
    const all: Env = {
      GMEMSIM_SHARD: '0/7',
      GMEMSIM_SHARD_INDEX: '1',
      GMEMSIM_SHARD_COUNT: '7',
      SLURM_ARRAY_TASK_ID: '2',
      SLURM_ARRAY_TASK_COUNT: '7',
      JOB_COMPLETION_INDEX: '3',
      CI_NODE_INDEX: '5',
      CI_NODE_TOTAL: '7',
      CIRCLE_NODE_INDEX: '5',
      CIRCLE_NODE_TOTAL: '7',
      BUILDKITE_PARALLEL_JOB: '6',
      BUILDKITE_PARALLEL_JOB_COUNT: '7',
    };
    const order = ['GMEMSIM_SHARD', 'GMEMSIM_SHARD_INDEX', 'SLURM_ARRAY_TASK_ID', 'JOB_COMPLETION_INDEX', 'CI_NODE_INDEX', 'CIRCLE_NODE_INDEX', 'BUILDKITE_PARALLEL_JOB'];
    const env: Record<string, string | undefined> = { ...all };
    order.forEach((name, i) => {
      expect(shardFromEnv(env)).toEqual({ index: i === 4 ? 4 : i, count: 7, source: name });
      delete env[name];
    });
    // an empty value counts as unset
    expect(shardFromEnv({ GMEMSIM_SHARD: '', CIRCLE_NODE_INDEX: '0', CIRCLE_NODE_TOTAL: '2' }).source).toBe('CIRCLE_NODE_INDEX');
  });

  it('refuses no match and inconsistent values, in one line naming the variables', () => {
    const none = err({ PATH: '/bin' });
    for (const v of ['GMEMSIM_SHARD', 'GMEMSIM_SHARD_INDEX', 'SLURM_ARRAY_TASK_ID', 'JOB_COMPLETION_INDEX', 'CI_NODE_INDEX', 'CIRCLE_NODE_INDEX', 'BUILDKITE_PARALLEL_JOB']) expect(none).toContain(v);
    expect(err({ GMEMSIM_SHARD_COUNT: '3' })).toMatch(/GMEMSIM_SHARD_COUNT is set, but no index variable/);
    expect(err({ JOB_COMPLETION_INDEX: '2' })).toMatch(/GMEMSIM_SHARD_COUNT is not set.*Kubernetes Indexed Job.*spec\.completions/);
    expect(err({ GMEMSIM_SHARD: '3/3' })).toMatch(/GMEMSIM_SHARD="3\/3" is not I\/N/);
    expect(err({ GMEMSIM_SHARD_INDEX: '0' })).toMatch(/GMEMSIM_SHARD_COUNT is not set/);
    expect(err({ GMEMSIM_SHARD_INDEX: 'x', GMEMSIM_SHARD_COUNT: '2' })).toMatch(/GMEMSIM_SHARD_INDEX="x" is not a non-negative integer/);
    expect(err({ GMEMSIM_SHARD_INDEX: '2', GMEMSIM_SHARD_COUNT: '2' })).toMatch(/index 2 is not below the count 2/);
    expect(err({ JOB_COMPLETION_INDEX: '0', GMEMSIM_SHARD_COUNT: '0' })).toMatch(/count 0 is not in 1\.\./);
    expect(err({ SLURM_ARRAY_TASK_ID: '3' })).toMatch(/neither SLURM_ARRAY_TASK_COUNT nor/);
    // --array=1,2,7: not a range
    expect(err({ SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '7', SLURM_ARRAY_TASK_COUNT: '3' })).toMatch(/not the range MIN\.\.MAX/);
    expect(err({ SLURM_ARRAY_TASK_ID: '9', SLURM_ARRAY_TASK_COUNT: '4' })).toMatch(/index 9 is not below the count 4/);
    expect(err({ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '4' })).toMatch(/not MIN \+ a multiple of STEP/);
    expect(err({ CI_NODE_INDEX: '0', CI_NODE_TOTAL: '2' })).toMatch(/counts from 1/);
    expect(err({ CI_NODE_INDEX: '3', CI_NODE_TOTAL: '2' })).toMatch(/index 2 is not below the count 2/);
    expect(err({ CIRCLE_NODE_INDEX: '0' })).toMatch(/CIRCLE_NODE_TOTAL is not set/);
    expect(err({ BUILDKITE_PARALLEL_JOB: '0', BUILDKITE_PARALLEL_JOB_COUNT: '-1' })).toMatch(/BUILDKITE_PARALLEL_JOB_COUNT="-1"/);
  });
});

async function explore(env: Env, ...argv: string[]) {
  const out: string[] = [];
  const errs: string[] = [];
  const code = await main(['explore', ...argv], { out: (s) => out.push(s), err: (s) => errs.push(s), env });
  return { code, out: out.join('\n'), err: errs };
}

describe('explore --shard auto', () => {
  it('runs the shard the environment gives, and says where it came from', async () => {
    const env = { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '4', SLURM_ARRAY_TASK_MAX: '6', SLURM_ARRAY_TASK_COUNT: '3' };
    const j = JSON.parse((await explore(env, '--schedules', '9', '--shard', 'auto', '--json')).out);
    expect(j.shard).toEqual({ index: 1, count: 3, source: 'SLURM_ARRAY_TASK_ID' });
    expect(j.schedules).toBe(3);
    const same = JSON.parse((await cli('explore', '--schedules', '9', '--shard', '1/3', '--json')).out);
    expect(same.shard).toEqual({ index: 1, count: 3, source: '--shard' });
    expect(same.steps).toBe(j.steps);
    const text = (await explore(env, '--schedules', '9', '--shard', 'auto')).out;
    expect(text).toMatch(/shard 1\/3 \(from SLURM_ARRAY_TASK_ID\): schedules i with i mod 3 = 1/);
  });

  it('no shard in the environment: exit 2, one line naming the variables', async () => {
    const r = await explore({ HOME: '/root' }, '--schedules', '3', '--shard', 'auto');
    expect(r.code).toBe(2);
    expect(r.err.length).toBe(1);
    expect(r.err[0]).toMatch(/^gmemsim explore: --shard auto: no shard in the environment; looked for GMEMSIM_SHARD, .*SLURM_ARRAY_TASK_ID.*JOB_COMPLETION_INDEX.*BUILDKITE_PARALLEL_JOB/);
    const k = await explore({ JOB_COMPLETION_INDEX: '1' }, '--schedules', '3', '--shard', 'auto');
    expect(k.code).toBe(2);
    expect(k.err[0]).toMatch(/GMEMSIM_SHARD_COUNT is not set/);
  });
});
