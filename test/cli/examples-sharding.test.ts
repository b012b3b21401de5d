// examples/kubernetes/explore-indexed-job.yaml and examples/github/explore-shards.yml: read with a
// small YAML reader (the subset the files use: no YAML parser is installed), checked for the
// wiring (shard count = completions, the matrix's env, artifact names), and their commands run:
// each shard's command under sh/bash with the environment its engine gives it, then the merge
// step over the files, as the engine would. The campaign's --schedules is made small.
// The commands call `gmemsim` on PATH: a shim to bin/gmemsim.mjs (dist/: run `npx tsc -p tsconfig.json` first).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'gmemsim-examples-'));
const shimDir = join(tmp, 'bin');
mkdirSync(shimDir);
writeFileSync(join(shimDir, 'gmemsim'), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin/gmemsim.mjs')}" "$@"\n`, { mode: 0o755 });

// ---- a YAML reader for the subset the examples use: block maps and sequences, "|" block scalars,
// flow sequences of scalars, quoted and plain scalars, comments, "---" between documents.
type Yaml = string | number | boolean | null | Yaml[] | { [k: string]: Yaml };
interface Line {
  indent: number;
  text: string;
  raw: string;
}

function scalar(v: string): Yaml {
  let s = v;
  if (!s.startsWith('"') && !s.startsWith("'")) s = s.replace(/\s+#.*$/, '');
  s = s.trim();
  if (s.startsWith('"')) return JSON.parse(s) as string;
  if (s.startsWith("'")) return s.slice(1, -1).replace(/''/g, "'");
  if (s.startsWith('[')) {
    if (!s.endsWith(']')) throw new Error(`flow sequence: ${s}`);
    const inner = s.slice(1, -1).trim();
    return inner ? inner.split(',').map((x) => scalar(x.trim())) : [];
  }
  if (s === 'true' || s === 'false') return s === 'true';
  if (s === '' || s === '~' || s === 'null') return null;
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  return s;
}

function parseYaml(doc: string): Yaml {
  const raw = doc.split('\n');
  if (raw.some((l) => /^\t/.test(l))) throw new Error('a tab in the indentation');
  let i = 0;
  const skip = () => {
    while (i < raw.length && (raw[i].trim() === '' || raw[i].trim().startsWith('#'))) i++;
  };
  const line = (): Line | null => {
    skip();
    if (i >= raw.length) return null;
    const r = raw[i];
    const indent = r.length - r.trimStart().length;
    return { indent, text: r.trim(), raw: r };
  };
  const isItem = (l: Line) => l.text === '-' || l.text.startsWith('- ');
  const KEY = /^([^\s"'[{#][^:]*?|"[^"]*"):(?:\s+(.*))?$/;

  function block(parentIndent: number, keep: boolean): string {
    const out: string[] = [];
    let ind = -1;
    while (i < raw.length) {
      const r = raw[i];
      if (r.trim() === '') {
        out.push('');
        i++;
        continue;
      }
      const n = r.length - r.trimStart().length;
      if (n <= parentIndent) break;
      if (ind < 0) ind = n;
      out.push(r.slice(ind));
      i++;
    }
    while (out.length && out[out.length - 1] === '') out.pop();
    return out.join('\n') + (keep ? '\n' : '');
  }

  function value(rest: string | undefined, indent: number): Yaml {
    if (rest === '|' || rest === '|-') return block(indent, rest === '|');
    if (rest !== undefined && rest.trim() !== '' && !rest.trim().startsWith('#')) return scalar(rest);
    const l = line();
    if (l && (l.indent > indent || (l.indent === indent && isItem(l)))) return node(l.indent);
    return null;
  }

  function node(indent: number): Yaml {
    const l = line()!;
    return isItem(l) ? seq(indent) : map(indent);
  }

  function seq(indent: number): Yaml[] {
    const out: Yaml[] = [];
    for (let l = line(); l && l.indent === indent && isItem(l); l = line()) {
      const rest = l.text === '-' ? '' : l.text.slice(2);
      if (rest === '' || rest === '|' || rest === '|-') {
        i++;
        out.push(value(rest || undefined, indent));
      } else if (KEY.test(rest) && !rest.startsWith('"')) {
        // "- key: v": a map whose keys sit two columns in
        raw[i] = ' '.repeat(indent + 2) + rest;
        out.push(map(indent + 2));
      } else {
        i++;
        out.push(scalar(rest));
      }
    }
    return out;
  }

  function map(indent: number): { [k: string]: Yaml } {
    const out: { [k: string]: Yaml } = {};
    for (let l = line(); l && l.indent === indent && !isItem(l); l = line()) {
      const m = KEY.exec(l.text);
      if (!m) throw new Error(`line ${i + 1}: not "key: value": ${l.raw}`);
      const key = m[1].startsWith('"') ? (JSON.parse(m[1]) as string) : m[1];
      if (key in out) throw new Error(`line ${i + 1}: key ${key} twice`);
      i++;
      out[key] = value(m[2], indent);
    }
    const l = line();
    if (l && l.indent > indent) throw new Error(`line ${i + 1}: bad indentation: ${l.raw}`);
    return out;
  }

  const first = line();
  if (!first) return null;
  const v = node(first.indent);
  if (line()) throw new Error(`line ${i + 1}: left over: ${raw[i]}`);
  return v;
}

const documents = (text: string) => text.split(/^---\s*$/m).map(parseYaml).filter((d) => d !== null);
type Any = any;

function sh(shell: 'sh' | 'bash', script: string, cwd: string, env: Record<string, string>) {
  const args = shell === 'bash' ? ['-e', '-c', script] : ['-c', script]; // GitHub runs `run:` as bash -e
  const r = spawnSync(shell, args, { cwd, encoding: 'utf8', timeout: 120_000, env: { PATH: `${shimDir}:${process.env.PATH}`, HOME: tmp, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const small = (campaign: string, schedules: number) => {
  expect(campaign).toMatch(/--schedules \d+/);
  return campaign.replace(/--schedules \d+/, `--schedules ${schedules}`);
};

/** the unsharded campaign's figures, to compare the merge with */
function whole(campaign: string) {
  const r = sh('sh', `gmemsim explore ${campaign} --json`, tmp, {});
  expect(r.code, r.err).toBeLessThanOrEqual(1);
  return JSON.parse(r.out);
}

const EXAMPLES = ['examples/kubernetes/explore-indexed-job.yaml', 'examples/github/explore-shards.yml'];
// PyYAML, where there is one: the examples read the same with a real YAML parser (GitHub's `on` key: YAML 1.1 reads it as true)
const PY = 'import json, sys, yaml\ndocs = [d for d in yaml.safe_load_all(sys.stdin) if d is not None]\nfor d in docs:\n    if True in d: d["on"] = d.pop(True)\nprint(json.dumps(docs))';
const pyYaml = spawnSync('python3', ['-c', PY], { input: 'a: 1', encoding: 'utf8' }).status === 0;

describe('the YAML reader', () => {
  it('reads the subset', () => {
    expect(parseYaml('a: 1\nb:\n  - x: "q"\n    y: [1, two]\n  - plain # c\nc: |\n  l1\n  l2\nd:\n- 3\ne:\n  - |\n    s\n')).toEqual({ a: 1, b: [{ x: 'q', y: [1, 'two'] }, 'plain'], c: 'l1\nl2\n', d: [3], e: ['s\n'] });
  });

  it.skipIf(!pyYaml).each(EXAMPLES)('%s reads as PyYAML reads it', (f) => {
    const text = readFileSync(join(ROOT, f), 'utf8');
    const py = spawnSync('python3', ['-c', PY], { input: text, encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    expect(documents(text)).toEqual(JSON.parse(py.stdout));
  });
});

describe('examples/kubernetes/explore-indexed-job.yaml', () => {
  const docs = documents(readFileSync(join(ROOT, EXAMPLES[0]), 'utf8')) as Any[];
  const job = docs.find((d) => d.kind === 'Job' && d.metadata.name === 'gmemsim-explore');
  const mergeJob = docs.find((d) => d.kind === 'Job' && d.metadata.name === 'gmemsim-merge');
  const pvc = docs.find((d) => d.kind === 'PersistentVolumeClaim');

  it('an Indexed Job whose GMEMSIM_SHARD_COUNT is its completions, sharing a volume with the merge Job', () => {
    expect(docs.map((d) => d.apiVersion)).toEqual(['v1', 'batch/v1', 'batch/v1']);
    expect(job.spec.completionMode).toBe('Indexed');
    const n = job.spec.completions;
    expect(job.spec.parallelism).toBe(n);
    const c = job.spec.template.spec.containers[0];
    const env = Object.fromEntries(c.env.map((e: Any) => [e.name, e.value]));
    expect(env.GMEMSIM_SHARD_COUNT).toBe(String(n));
    expect(c.command).toEqual(['sh', '-c']);
    expect(c.args[0]).toMatch(/^gmemsim explore \$CAMPAIGN --shard auto --json > \/out\/shard-\$JOB_COMPLETION_INDEX\.json/);
    const m = mergeJob.spec.template.spec.containers[0];
    expect(m.env.find((e: Any) => e.name === 'SHARDS').value).toBe(String(n));
    for (const j of [job, mergeJob]) {
      expect(j.spec.template.spec.restartPolicy).toBe('Never');
      expect(j.spec.template.spec.volumes[0].persistentVolumeClaim.claimName).toBe(pvc.metadata.name);
      expect(j.spec.template.spec.containers[0].volumeMounts[0]).toEqual({ name: j.spec.template.spec.volumes[0].name, mountPath: '/out' });
    }
    expect(pvc.spec.accessModes).toEqual(['ReadWriteMany']);
  });

  it('each pod\'s command, with JOB_COMPLETION_INDEX and the manifest\'s env, writes its shard; the merge Job merges them into the unsharded campaign\'s totals', () => {
    const n = job.spec.completions;
    const c = job.spec.template.spec.containers[0];
    const env: Record<string, string> = Object.fromEntries(c.env.map((e: Any) => [e.name, String(e.value)]));
    env.CAMPAIGN = small(env.CAMPAIGN, 40);
    const out = join(tmp, 'k8s-out');
    mkdirSync(out);
    const inPod = (script: string) => script.replaceAll('/out/', `${out}/`);
    for (let i = 0; i < n; i++) {
      const r = sh('sh', inPod(c.args[0]), tmp, { ...env, JOB_COMPLETION_INDEX: String(i) });
      expect(r.code, r.err).toBe(0);
      const j = JSON.parse(readFileSync(join(out, `shard-${i}.json`), 'utf8'));
      expect(j.shard).toEqual({ index: i, count: n, source: 'JOB_COMPLETION_INDEX' });
    }
    const m = mergeJob.spec.template.spec.containers[0];
    const r = sh('sh', inPod(m.args[0]), tmp, { SHARDS: String(m.env[0].value) });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/result: OK, no invariant violated in any shard/);
    const merged = JSON.parse(readFileSync(join(out, 'campaign.json'), 'utf8'));
    const w = whole(env.CAMPAIGN);
    expect([merged.shards, merged.schedules, merged.steps, merged.stats, merged.coverage]).toEqual([n, w.schedules, w.steps, w.stats, w.coverage]);
  });
});

describe('examples/github/explore-shards.yml', () => {
  const wf = documents(readFileSync(join(ROOT, EXAMPLES[1]), 'utf8'))[0] as Any;
  const explore = wf.jobs.explore;
  const merge = wf.jobs.merge;
  const shards: number[] = explore.strategy.matrix.shard;
  const exploreStep = explore.steps.find((s: Any) => typeof s.run === 'string' && s.run.includes('gmemsim explore'));
  const upload = explore.steps.find((s: Any) => String(s.uses).startsWith('actions/upload-artifact@'));
  const download = merge.steps.find((s: Any) => String(s.uses).startsWith('actions/download-artifact@'));
  const mergeStep = merge.steps.find((s: Any) => typeof s.run === 'string' && s.run.includes('gmemsim merge'));
  // GitHub's expressions the file uses, for matrix job `shard`
  const expand = (v: string, shard: number) => v.replaceAll('${{ matrix.shard }}', String(shard)).replaceAll('${{ strategy.job-total }}', String(shards.length));

  it('a matrix of shards with GMEMSIM_SHARD_INDEX/COUNT, artifacts, and a merge job that needs them', () => {
    expect(wf.on).toHaveProperty('workflow_dispatch');
    expect(shards).toEqual(shards.map((_, i) => i));
    expect(explore.strategy['fail-fast']).toBe(false);
    expect(explore.env).toEqual({ GMEMSIM_SHARD_INDEX: '${{ matrix.shard }}', GMEMSIM_SHARD_COUNT: '${{ strategy.job-total }}' });
    expect(exploreStep.run).toMatch(/gmemsim explore \$CAMPAIGN --shard auto --json > shard-\$GMEMSIM_SHARD_INDEX\.json/);
    expect(upload.with.path).toBe('shard-${{ matrix.shard }}.json');
    expect(merge.needs).toBe('explore');
    // the download pattern takes every shard's artifact, into one directory
    const re = new RegExp(`^${String(download.with.pattern).replaceAll('*', '.*')}$`);
    for (const s of shards) expect(expand(upload.with.name, s)).toMatch(re);
    expect(download.with['merge-multiple']).toBe(true);
    expect(mergeStep.run).toContain(`${download.with.path}/shard-*.json`);
    for (const job of [explore, merge]) {
      const install = job.steps.find((s: Any) => s.name === 'install gmemsim');
      expect(install.run).toMatch(/npm ci\n.*ln -s "\$PWD\/bin\/gmemsim\.mjs" "\$RUNNER_TEMP\/bin\/gmemsim"/);
      expect(install.run).toContain('>> "$GITHUB_PATH"');
    }
  });

  /** the workflow as GitHub would run it: each matrix job's step, its artifact, the download, the merge */
  function runWorkflow(campaign: string, name: string) {
    const base = join(tmp, `gh-${name}`);
    const env = { ...wf.env, CAMPAIGN: campaign };
    for (const s of shards) {
      const cwd = join(base, `explore-${s}`);
      mkdirSync(cwd, { recursive: true });
      const jobEnv = Object.fromEntries(Object.entries(explore.env as Record<string, string>).map(([k, v]) => [k, expand(v, s)]));
      const r = sh('bash', exploreStep.run, cwd, { ...env, ...jobEnv });
      expect(r.code, `shard ${s}: ${r.err}`).toBe(0);
      const path = join(cwd, expand(upload.with.path, s));
      expect(existsSync(path)).toBe(true);
      mkdirSync(join(base, 'merge', download.with.path), { recursive: true });
      copyFileSync(path, join(base, 'merge', download.with.path, basename(path)));
    }
    const r = sh('bash', mergeStep.run, join(base, 'merge'), env);
    return { ...r, json: JSON.parse(readFileSync(join(base, 'merge', 'campaign.json'), 'utf8')) };
  }

  it('a clean campaign: every shard job and the merge job pass, with the unsharded campaign\'s totals', () => {
    const campaign = small(wf.env.CAMPAIGN, 40);
    const r = runWorkflow(campaign, 'clean');
    expect(r.code, r.err).toBe(0);
    const w = whole(campaign);
    expect([r.json.shards, r.json.schedules, r.json.steps, r.json.stats, r.json.coverage]).toEqual([shards.length, w.schedules, w.steps, w.stats, w.coverage]);
  });

  it('a violation: the shard jobs pass, the merge job fails (exit 1) naming the first', () => {
    const campaign = `${small(wf.env.CAMPAIGN, 600).replace(/--seed \d+/, '--seed 3')} --variant B2 --no-shrink`;
    const r = runWorkflow(campaign, 'violation');
    expect(r.code).toBe(1);
    const w = whole(campaign);
    expect(r.json.first.schedule).toBe(w.violations[0].schedule);
    expect(r.out).toMatch(new RegExp(`first, at schedule ${w.violations[0].schedule} `));
  });
});
