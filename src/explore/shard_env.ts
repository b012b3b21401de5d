// explore --shard auto: the shard index and count from the environment a batch engine gives each
// of its tasks. The first rule whose index variable is set decides (a later engine's variables are
// not looked at), in this order:
//
//   1. GMEMSIM_SHARD=I/N                             explicit, any engine
//   2. GMEMSIM_SHARD_INDEX + GMEMSIM_SHARD_COUNT     explicit (a GitHub Actions matrix: it has no
//                                                    standard variables, the workflow sets these)
//   3. SLURM_ARRAY_TASK_ID                           SLURM job arrays: index = (id - MIN) / STEP,
//        + SLURM_ARRAY_TASK_COUNT, or MIN/MAX/STEP   count = COUNT, or (MAX - MIN) / STEP + 1
//   4. JOB_COMPLETION_INDEX + GMEMSIM_SHARD_COUNT    Kubernetes Indexed Jobs (a pod's environment
//                                                    has no count: set it from spec.completions)
//   5. CI_NODE_INDEX (1-based) + CI_NODE_TOTAL       GitLab CI `parallel:`
//   6. CIRCLE_NODE_INDEX + CIRCLE_NODE_TOTAL         CircleCI `parallelism:`
//   7. BUILDKITE_PARALLEL_JOB + BUILDKITE_PARALLEL_JOB_COUNT   Buildkite `parallelism:`
//
// No rule matching, or a rule's variables inconsistent (not integers, a missing count, an index
// out of range), is a ShardEnvError: one line naming the variables. Nothing here reads
// process.env: the caller passes the environment.

export type Env = Readonly<Record<string, string | undefined>>;

/** A shard of a campaign and where it came from ("--shard", or the variable that decided it). */
export interface ShardSpec {
  index: number;
  count: number;
  source: string;
}

export const MAX_SHARDS = 100_000;

export class ShardEnvError extends Error {}

/** The index variables of the rules, in order (what an error says was looked for). */
export const SHARD_ENV_LOOKED_FOR = [
  'GMEMSIM_SHARD',
  'GMEMSIM_SHARD_INDEX (+ GMEMSIM_SHARD_COUNT)',
  'SLURM_ARRAY_TASK_ID (+ SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MIN/MAX)',
  'JOB_COMPLETION_INDEX (+ GMEMSIM_SHARD_COUNT)',
  'CI_NODE_INDEX (+ CI_NODE_TOTAL)',
  'CIRCLE_NODE_INDEX (+ CIRCLE_NODE_TOTAL)',
  'BUILDKITE_PARALLEL_JOB (+ BUILDKITE_PARALLEL_JOB_COUNT)',
];

const set = (env: Env, name: string) => env[name] !== undefined && env[name]!.trim() !== '';

/** A variable as a non-negative integer (decimal digits only), or a ShardEnvError naming it. */
function int(env: Env, name: string, why = ''): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') throw new ShardEnvError(`${name} is not set${why}`);
  const v = raw.trim();
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new ShardEnvError(`${name}="${raw}" is not a non-negative integer`);
  return Number(v);
}

function shard(index: number, count: number, source: string, what: string): ShardSpec {
  if (count < 1 || count > MAX_SHARDS) throw new ShardEnvError(`${what}: the shard count ${count} is not in 1..${MAX_SHARDS}`);
  if (index >= count) throw new ShardEnvError(`${what}: shard index ${index} is not below the count ${count}`);
  return { index, count, source };
}

const show = (env: Env, ...names: string[]) => names.filter((n) => set(env, n)).map((n) => `${n}=${env[n]!.trim()}`).join(', ');

/** "I/N" (0 <= I < N), or null. */
export function parseShardSpec(v: string): { index: number; count: number } | null {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  if (!m) return null;
  const index = Number(m[1]);
  const count = Number(m[2]);
  return count >= 1 && count <= MAX_SHARDS && index < count ? { index, count } : null;
}

function slurm(env: Env): ShardSpec {
  const id = int(env, 'SLURM_ARRAY_TASK_ID');
  const hasMin = set(env, 'SLURM_ARRAY_TASK_MIN');
  const hasMax = set(env, 'SLURM_ARRAY_TASK_MAX');
  const hasCount = set(env, 'SLURM_ARRAY_TASK_COUNT');
  if (!hasCount && !(hasMin && hasMax)) throw new ShardEnvError('SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_MAX');
  const min = hasMin ? int(env, 'SLURM_ARRAY_TASK_MIN') : 0;
  const step = set(env, 'SLURM_ARRAY_TASK_STEP') ? int(env, 'SLURM_ARRAY_TASK_STEP') : 1;
  const what = show(env, 'SLURM_ARRAY_TASK_ID', 'SLURM_ARRAY_TASK_COUNT', 'SLURM_ARRAY_TASK_MIN', 'SLURM_ARRAY_TASK_MAX', 'SLURM_ARRAY_TASK_STEP');
  if (step < 1) throw new ShardEnvError(`${what}: the step must be at least 1`);
  let count = hasCount ? int(env, 'SLURM_ARRAY_TASK_COUNT') : NaN;
  if (hasMax) {
    const max = int(env, 'SLURM_ARRAY_TASK_MAX');
    const span = max - min;
    // an id list that is not an evenly spaced range (--array=1,2,7) gives no index from the id
    if (span < 0 || span % step !== 0 || (hasCount && span / step + 1 !== count))
      throw new ShardEnvError(`${what}: the array's ids are not the range MIN..MAX by STEP with COUNT ids (--array=A-B[:S] is needed; else set GMEMSIM_SHARD)`);
    count = span / step + 1;
  }
  const off = id - min;
  if (off < 0 || off % step !== 0) throw new ShardEnvError(`${what}: the task id is not MIN + a multiple of STEP`);
  return shard(off / step, count, 'SLURM_ARRAY_TASK_ID', what);
}

/**
 * The shard the environment gives this task (see the rules above), or a ShardEnvError: one line,
 * naming the variables looked for when none is set.
 */
export function shardFromEnv(env: Env): ShardSpec {
  if (set(env, 'GMEMSIM_SHARD')) {
    const s = parseShardSpec(env.GMEMSIM_SHARD!);
    if (!s) throw new ShardEnvError(`GMEMSIM_SHARD="${env.GMEMSIM_SHARD}" is not I/N with 0 <= I < N`);
    return { ...s, source: 'GMEMSIM_SHARD' };
  }
  if (set(env, 'GMEMSIM_SHARD_INDEX')) {
    const index = int(env, 'GMEMSIM_SHARD_INDEX');
    return shard(index, int(env, 'GMEMSIM_SHARD_COUNT', ' (GMEMSIM_SHARD_INDEX is)'), 'GMEMSIM_SHARD_INDEX', show(env, 'GMEMSIM_SHARD_INDEX', 'GMEMSIM_SHARD_COUNT'));
  }
  if (set(env, 'SLURM_ARRAY_TASK_ID')) return slurm(env);
  if (set(env, 'JOB_COMPLETION_INDEX')) {
    const index = int(env, 'JOB_COMPLETION_INDEX');
    const count = int(env, 'GMEMSIM_SHARD_COUNT', ": JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) and a pod's environment has no completion count; set GMEMSIM_SHARD_COUNT in the manifest to the Job's spec.completions");
    return shard(index, count, 'JOB_COMPLETION_INDEX', show(env, 'JOB_COMPLETION_INDEX', 'GMEMSIM_SHARD_COUNT'));
  }
  if (set(env, 'CI_NODE_INDEX')) {
    const what = show(env, 'CI_NODE_INDEX', 'CI_NODE_TOTAL');
    const n = int(env, 'CI_NODE_INDEX');
    if (n < 1) throw new ShardEnvError(`${what}: GitLab's CI_NODE_INDEX counts from 1`);
    return shard(n - 1, int(env, 'CI_NODE_TOTAL', ' (CI_NODE_INDEX is)'), 'CI_NODE_INDEX', what);
  }
  if (set(env, 'CIRCLE_NODE_INDEX')) return shard(int(env, 'CIRCLE_NODE_INDEX'), int(env, 'CIRCLE_NODE_TOTAL', ' (CIRCLE_NODE_INDEX is)'), 'CIRCLE_NODE_INDEX', show(env, 'CIRCLE_NODE_INDEX', 'CIRCLE_NODE_TOTAL'));
  if (set(env, 'BUILDKITE_PARALLEL_JOB'))
    return shard(int(env, 'BUILDKITE_PARALLEL_JOB'), int(env, 'BUILDKITE_PARALLEL_JOB_COUNT', ' (BUILDKITE_PARALLEL_JOB is)'), 'BUILDKITE_PARALLEL_JOB', show(env, 'BUILDKITE_PARALLEL_JOB', 'BUILDKITE_PARALLEL_JOB_COUNT'));
  const stray = set(env, 'GMEMSIM_SHARD_COUNT') ? ' (GMEMSIM_SHARD_COUNT is set, but no index variable)' : '';
  throw new ShardEnvError(`no shard in the environment${stray}; looked for ${SHARD_ENV_LOOKED_FOR.join(', ')}`);
}
