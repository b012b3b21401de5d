// The gmemsim command in-process (main(argv, io) with a capturing io), plus the real binary
// once end to end. Exit codes: 0 clean, 1 violation found, 2 bad input (one line on stderr).
// The spawned binary and the threads paths use dist/: run `npx tsc -p tsconfig.json` first.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, it, expect } from 'vitest';
import { cli, type Ran } from '../helpers.js';
import { VARIANTS } from '../../src/variants.js';
import { BUILTIN_SCENARIOS } from '../../src/scenario/builtins.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin', 'gmemsim.mjs');

/** Exit 2 with exactly one line on stderr and nothing on stdout; returns that line. */
async function usageError(...argv: string[]): Promise<string> {
  const r = await cli(...argv);
  expect(r.code, argv.join(' ')).toBe(2);
  expect(r.out, argv.join(' ')).toBe('');
  expect(r.err, argv.join(' ')).toHaveLength(1);
  const line = r.err[0]!.replace(/\n$/, '');
  expect(line, argv.join(' ')).not.toMatch(/[\r\n]/);
  return line;
}

const json = (r: Ran) => JSON.parse(r.out) as Record<string, any>;

const tmp = mkdtempSync(join(tmpdir(), 'gmemsim-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('help', () => {
  const commands: [string, string[]][] = [
    ['run', ['--scenario', '--engine', '--duration', '--ops', '--seed', '--variant', '--invariants', '--pause-ms', '--watchdog', '--json']],
    ['explore', ['--scenario', '--schedules', '--seed', '--variant', '--invariants', '--time', '--json']],
    ['replay', ['--engine', '--json']],
    ['variants', ['--json']],
    ['scenarios', ['--json']],
  ];

  it.each(commands)('%s --help exits 0 and lists its options', async (cmd, opts) => {
    const r = await cli(cmd, '--help');
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    expect(r.out).toContain(`usage: gmemsim ${cmd}`);
    for (const o of [...opts, '--debug']) expect(r.out, o).toMatch(new RegExp(`^  ${o}\\b`, 'm'));
    expect(r.out).toMatch(/^  -h, --help\b/m);
    const short = await cli(cmd, '-h');
    expect(short.code).toBe(0);
    expect(short.out).toBe(r.out);
  });

  it('"--" ends the options: what follows is an argument', async () => {
    const r = await cli('replay', '--', '--help');
    expect(r.code).toBe(2);
    expect(r.err).toEqual(['gmemsim replay: "--help" is neither a replay token (gm1_…) nor a replay file']);
  });

  it('--help wins over other (even bad) arguments', async () => {
    const r = await cli('explore', '--schedules', 'abc', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('usage: gmemsim explore');
  });

  it('gmemsim --help (and help, -h) exits 0 and names every command and invariant', async () => {
    for (const h of ['--help', 'help', '-h']) {
      const r = await cli(h);
      expect(r.code, h).toBe(0);
      for (const c of ['run', 'explore', 'replay', 'variants', 'scenarios']) expect(r.out).toMatch(new RegExp(`^  ${c} `, 'm'));
      for (const i of ['I1', 'I2', 'I4', 'I7', 'I8', 'DATA', 'DEADLOCK', 'STARVATION']) expect(r.out).toMatch(new RegExp(`^  ${i} `, 'm'));
    }
  });

  it('no arguments is a usage error (exit 2): one line naming the commands', async () => {
    const r = await cli();
    expect(r.code).toBe(2);
    expect(r.err).toEqual(['gmemsim: a command is required (run, explore, replay, merge, outcomes, variants, scenarios); see gmemsim --help']);
  });
});

describe('bad input: exit 2, one line naming what is wrong', () => {
  it('an unknown command', async () => {
    expect(await usageError('bogus')).toMatch(/unknown command "bogus"/);
  });

  it('unknown options, long and short', async () => {
    expect(await usageError('explore', '--bogus')).toMatch(/^gmemsim explore: unknown option --bogus/);
    expect(await usageError('run', '--nope=3')).toMatch(/^gmemsim run: unknown option --nope/);
    expect(await usageError('explore', '-x')).toMatch(/^gmemsim explore: unknown option -x/);
    expect(await usageError('variants', 'extra')).toMatch(/^gmemsim variants: unexpected argument "extra"/);
  });

  it.each([
    [['explore', '--schedules', 'abc'], '--schedules'],
    [['explore', '--schedules', '0'], '--schedules'],
    [['explore', '--schedules', '1e3'], '--schedules'],
    [['explore', '--seed', '-1'], '--seed'],
    [['explore', '--seed=4294967296'], '--seed'],
    [['explore', '--seed', '1.5'], '--seed'],
    [['explore', '--seed'], '--seed'],
    [['explore', '--seed', '--json'], '--seed'],
    [['run', '--engine', 'bogus'], '--engine'],
    [['replay', 'gm1_x', '--engine', 'bogus'], '--engine'],
    [['run', '--duration', '0'], '--duration'],
    [['run', '--pause-ms', '-1'], '--pause-ms'],
    [['explore', '--variant', 'nope'], '--variant'],
    [['run', '--variant', 'B3'], '--variant'],
    [['explore', '--invariants', 'I6'], '--invariants'],
    [['explore', '--invariants', 'I1,I6'], '--invariants'],
    [['explore', '--invariants', ','], '--invariants'],
    [['variants', '--json=yes'], '--json'],
    // an option that does not apply here, a repeated one, two that exclude each other
    [['run', '--engine', 'sim', '--jitter', '2'], '--jitter applies only with --engine threads'],
    [['run', '--engine', 'sim', '--ops', '5'], '--ops applies only with --engine threads'],
    [['run', '--ops', '5', '--duration', '100'], '--ops and --duration'],
    [['explore', '--depth', '3'], '--depth applies only with --strategy pct'],
    [['explore', '--preemptions', '1'], '--preemptions applies only with --strategy dfs'],
    [['explore', '--strategy', 'dfs', '--workers', '2'], '--workers applies only'],
    [['explore', '--strategy', 'dfs', '--shard', '0/2'], '--shard applies only'],
    [['explore', '--variant', 'B4', '--variant', 'B9'], '--variant is given twice ("B4", then "B9")'],
    [['explore', '--json', '--json'], '--json is given twice'],
    // output files are checked before the work starts
    [['explore', '--save', '/nonexistent-dir/x.json'], '--save /nonexistent-dir/x.json: the directory /nonexistent-dir does not exist'],
    [['explore', '--trace', '/tmp'], '--trace /tmp is a directory'],
    [['replay', 'gm1_x', '--trace', '/nonexistent-dir/t.json'], '--trace'],
  ])('%j names %s', async (argv, opt) => {
    const line = await usageError(...argv);
    expect(line).toContain(opt);
  });

  it('an output path that is a dangling symbolic link or a FIFO nobody reads is refused at once, and left as it was', async () => {
    const link = join(tmp, 'dangling.json');
    const target = join(tmp, 'no-such-target.json');
    symlinkSync(target, link);
    expect(await usageError('explore', '--save', link)).toContain('a symbolic link to a file that does not exist');
    expect(existsSync(target)).toBe(false);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    const fifo = join(tmp, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(await usageError('explore', '--trace', fifo)).toContain('a FIFO with no reader');
  });

  it('a scenario file with a wrong field type names the field', async () => {
    const file = join(tmp, 'bad-type.json');
    writeFileSync(file, JSON.stringify({ vcpus: { count: '4' } }));
    for (const cmd of ['explore', 'run']) {
      const line = await usageError(cmd, '--scenario', file);
      expect(line).toContain('vcpus.count');
      expect(line).toMatch(/integer/);
    }
  });

  it('a missing scenario file, invalid JSON, an unknown key, an unknown built-in', async () => {
    expect(await usageError('explore', '--scenario', join(tmp, 'missing.json'))).toMatch(/cannot read .*missing\.json/);
    const broken = join(tmp, 'broken.json');
    writeFileSync(broken, '{"vcpus": {\n  "count": 4,\n');
    expect(await usageError('explore', '--scenario', broken)).toMatch(/not valid JSON/);
    const unknown = join(tmp, 'unknown.json');
    writeFileSync(unknown, JSON.stringify({ vcpus: { cnt: 4 } }));
    expect(await usageError('explore', '--scenario', unknown)).toContain('vcpus.cnt');
    expect(await usageError('explore', '--scenario', 'nosuch')).toMatch(/unknown scenario "nosuch"/);
  });

  it('replay of garbage, of a damaged token, and without a token or file', async () => {
    expect(await usageError('replay', 'garbage')).toMatch(/^gmemsim replay: "garbage" is neither a replay token \(gm1_…\) nor a replay file/);
    expect(await usageError('replay', 'gm1_!!!!')).toMatch(/^gmemsim replay: replay token is damaged/);
    expect(await usageError('replay')).toMatch(/^gmemsim replay: a TOKEN or a replay FILE is required/);
  });
});

describe('outputs written after the report', () => {
  it('a write that fails after the run (ENOSPC on /dev/full): the report with its token is printed first, then one line, exit 2', async () => {
    const r = await cli('explore', '--variant', 'B4', '--schedules', '50', '--no-shrink', '--save', '/dev/full');
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/replay: gmemsim replay gm1_/);
    expect(r.err).toEqual(['gmemsim explore: --save /dev/full: could not write it (ENOSPC); the report above has the results']);
  });

  it('with several outputs asked for, each that can be written is, and the one that cannot is named', async () => {
    const trace = join(tmp, 'both-trace.json');
    const r = await cli('explore', '--variant', 'B4', '--schedules', '50', '--no-shrink', '--save', '/dev/full', '--trace', trace);
    expect(r.code).toBe(2);
    expect(JSON.parse(readFileSync(trace, 'utf8'))).toHaveProperty('traceEvents');
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toContain('--save /dev/full');
    expect(r.err[0]).not.toContain('--trace');
  });
});

describe('help where an option takes a value', () => {
  it('-h as the value of --save is a file name, not a request for help', async () => {
    const r = await cli('explore', '--schedules', '5', '--save', join(tmp, '-h'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('result: OK');
    const bare = await cli('explore', '--schedules', '5', '--seed', '-h');
    expect(bare.code).toBe(2); // -h where --seed's number goes: a bad seed, not help
    expect(bare.err[0]).toContain('--seed');
  });

  it('gmemsim -h explore prints explore\'s help, as gmemsim help explore does', async () => {
    const a = await cli('-h', 'explore');
    const b = await cli('help', 'explore');
    expect(a.code).toBe(0);
    expect(a.out).toContain('usage: gmemsim explore');
    expect(a.out).toBe(b.out);
  });
});

describe('variants and scenarios', () => {
  it('variants --json lists the catalogue with id, name, removes, expect', async () => {
    const r = await cli('variants', '--json');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.out) as { id: string; name: string; removes: string; expect: string | null }[];
    expect(list.length).toBeGreaterThanOrEqual(9);
    expect(list.map((v) => v.id)).toEqual(VARIANTS.map((v) => v.id));
    for (const v of list) {
      expect(typeof v.id).toBe('string');
      expect(typeof v.name).toBe('string');
      expect(v.removes.length).toBeGreaterThan(0);
      expect(v.expect === null || typeof v.expect === 'string').toBe(true);
    }
    expect(list.find((v) => v.id === 'B9')?.expect).toBeNull();
    expect(list.find((v) => v.id === 'B1')?.expect).toBe('I1');
    expect(list.find((v) => v.id === 'B1')).toMatchObject({ alsoBreaks: ['I2'] });
  });

  it('variants (text) shows every id and the negative control', async () => {
    const r = await cli('variants');
    expect(r.code).toBe(0);
    for (const v of VARIANTS) expect(r.out).toContain(v.id);
    expect(r.out).toMatch(/B9 .*negative control/);
  });

  it('scenarios --json prints the built-ins in full', async () => {
    const r = await cli('scenarios', '--json');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.out) as { name: string; numa: unknown }[];
    expect(list.map((s) => s.name)).toEqual(['default', 'numa-mbind', 'numa-mbind-runtime', 'populate', 'guest-memfd-guest', 'punch-race', 'conversions-selftest', 'conversions-selftest-gmem-only', 'pre-fault-memory', 'gmem-release', 'memory-failure', 'prepare-fail', 'numa-balancing', 'prepare-fail-6.18', 'numa-interleave', 'inplace-conversion', 'conversions-inplace-selftest', 'hugepages-2m', 'hugepages-misaligned', 'hugepages-2m-inplace', 'hugepages-1g-inplace', 'litmus-punch', 'litmus-convert', 'litmus-memslot', 'litmus-lock-order', 'litmus-notifier', 'litmus-host-punch', 'litmus-host-private', 'litmus-prefault', 'litmus-release', 'litmus-release-unbind', 'litmus-hwpoison', 'litmus-hwpoison-punch', 'litmus-hwpoison-unbind', 'litmus-numa-balancing', 'litmus-mbind', 'litmus-mbind-race', 'litmus-mbind-empty', 'litmus-populate', 'litmus-convert-pin', 'litmus-convert-mapped', 'litmus-convert-inplace', 'litmus-gmem-only', 'litmus-huge-convert', 'litmus-huge-inplace', 'litmus-huge-punch']);
    expect(list.find((s) => s.name === 'numa-interleave')?.numa).not.toBeNull();
  });

  it('scenarios (text): every built-in with its size and description, names in one column', async () => {
    const r = await cli('scenarios');
    expect(r.code).toBe(0);
    const heads = r.out.split('\n').filter((l) => /^  \S/.test(l));
    expect(heads.map((l) => l.trim().split(/ +/)[0])).toEqual(Object.keys(BUILTIN_SCENARIOS));
    expect(new Set(heads.map((l) => l.search(/\d+ actors/))).size).toBe(1);
    expect(r.out).toContain('13,107,200 gmem pages');
    // the selftest ports and the upstream findings say so
    expect(r.out).toMatch(/conversions-selftest-gmem-only .*\n.*\n\s+selftest port: private_mem_conversions_test on gmem-only memslots/);
    expect(r.out).toMatch(/litmus-hwpoison-punch .*\n.*\n\s+upstream finding: the correct model reports LOCK_ORDER here/);
  });

  it('explore warns before a scenario whose schedules may run to millions of steps, and names --scale for a scalable one', async () => {
    const big = join(tmp, 'long-schedules.json');
    writeFileSync(big, JSON.stringify({ maxSteps: 20_000_000 }));
    const r = await cli('explore', '--scenario', big, '--schedules', '3');
    expect(r.code).toBe(0);
    expect(r.err).toEqual([expect.stringMatching(/^gmemsim explore: note: a schedule of .* may take up to 20,000,000 steps \(maxSteps\).*use a smaller scenario/)]);
    const small = await cli('explore', '--scenario', 'numa-interleave', '--scale', '0.00001', '--schedules', '3');
    expect(small.err).toEqual([]);
  });
});

describe('explore, replay, run', () => {
  it('explore --schedules 30 --json on default: exit 0, clean, the protocol exercised', async () => {
    const r = await cli('explore', '--schedules', '30', '--json');
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    const j = json(r);
    expect(j.ok).toBe(true);
    expect(j.scenario).toBe('default');
    expect(j.variant).toBeNull();
    expect(j.schedules).toBe(30);
    expect(j.violations).toEqual([]);
    for (const c of ['faults', 'retries', 'memoryFaultExits', 'conversions', 'punchHoles']) expect(j.stats[c], c).toBeGreaterThan(0);
  });

  it('explore (text) says OK and shows activity', async () => {
    const r = await cli('explore', '--schedules', '5', '--scenario', 'punch-race');
    expect(r.code).toBe(0);
    expect(r.out).toContain('scenario "punch-race"');
    expect(r.out).toContain('result: OK, no invariant violated');
  });

  it('explore --variant B4 --schedules 50 --json: exit 1 with I2, and its token replays the same every time', async () => {
    const r = await cli('explore', '--variant', 'B4', '--schedules', '50', '--json');
    expect(r.code).toBe(1);
    const j = json(r);
    expect(j.ok).toBe(false);
    expect(j.variant).toBe('B4');
    expect(j.violations).toHaveLength(1);
    const v = j.violations[0];
    expect(v.invariant).toBe('I2');
    expect(v.replay).toMatch(/^gm1_/);

    const replays = [await cli('replay', v.replay, '--json'), await cli('replay', v.replay, '--json')];
    for (const rr of replays) {
      expect(rr.code).toBe(1); // the violation is reproduced
      const rj = json(rr);
      expect(rj.reproduced).toBe(true);
      expect(rj.traceHash).toBe(v.traceHash);
      expect(rj.violations[0].invariant).toBe('I2');
      expect(rj.engine).toBe('sim');
    }
    expect(json(replays[1]!).traceHash).toBe(json(replays[0]!).traceHash);

    // The same token on real worker threads: the same hash and invariant.
    const th = await cli('replay', v.replay, '--engine', 'threads', '--json');
    expect(th.code).toBe(1);
    expect(json(th).reproduced).toBe(true);
    expect(json(th).traceHash).toBe(v.traceHash);

    // And as text.
    const tx = await cli('replay', v.replay);
    expect(tx.code).toBe(1);
    expect(tx.out).toContain('reproduced exactly');
  });

  it('explore by variant name, with an invariant filter that hides the bug: exit 0', async () => {
    const r = await cli('explore', '--variant', 'skip-private-mismatch', '--invariants', 'I1', '--schedules', '20', '--json');
    expect(r.code).toBe(0);
    expect(json(r).variant).toBe('B4');
  });

  it('explore finds what a lower-case invariant filter asks for (B10, starvation)', async () => {
    const r = await cli('explore', '--variant', 'B10', '--invariants', 'starvation', '--seed', '3', '--schedules', '50', '--json');
    expect(r.code).toBe(1);
    expect(json(r).violations[0].invariant).toBe('STARVATION');
  });

  it('run --engine sim --duration 300 --json: exit 0', async () => {
    const r = await cli('run', '--engine', 'sim', '--duration', '300', '--json');
    expect(r.code).toBe(0);
    const j = json(r);
    expect(j.ok).toBe(true);
    expect(j.command).toBe('run');
    expect(j.engine).toBe('sim');
    expect(j.schedules).toBeGreaterThan(0);
    expect(j.stats.faults).toBeGreaterThan(0);
  });

  it('run on threads with --ops 3 --json: exit 0, stopped by ops, quiescent', async () => {
    const r = await cli('run', '--ops', '3', '--json');
    expect(r.code).toBe(0);
    const j = json(r);
    expect(j.engine).toBe('threads');
    expect(j.stoppedBy).toBe('ops');
    expect(j.quiescent).toBe(true);
    expect(j.violations).toEqual([]);
  });
});

describe('the real binary', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });

  it('variants works end to end', () => {
    const r = run('variants');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Bug-injection variants');
    expect(r.stdout).toContain('B9');
    expect(r.stderr).toBe('');
  });

  it('exit codes propagate: 1 for a violation, 2 for bad input (one line on stderr)', () => {
    const found = run('explore', '--variant', 'B4', '--schedules', '50');
    expect(found.status).toBe(1);
    expect(found.stdout).toContain('I2');
    expect(found.stdout).toMatch(/replay: gmemsim replay gm1_/);
    const bad = run('explore', '--schedules', 'abc');
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('--schedules');
  });

  it('a reader that goes away (| true) is not an internal error', () => {
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" scenarios --json | true; echo done`], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).not.toContain('internal error');
    expect(r.stdout.trim()).toBe('done');
  });

  it('--debug after "--" reaches the command as an argument', () => {
    const r = run('replay', '--', '--debug');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('"--debug" is neither a replay token');
  });

  it('--version prints the package version', () => {
    const r = run('--version');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('a run that measured nothing, and progress off a terminal', () => {
  it('a threads run in which no fault completed says so on one line and exits 2, not OK', async () => {
    const file = join(tmp, 'no-faults.json');
    writeFileSync(file, JSON.stringify({ vcpus: { ops: 0 }, stopWhen: 'ops' }));
    const line = await usageError('run', '--scenario', file);
    expect(line).toMatch(/^gmemsim run: no progress: the vCPUs completed no fault in/);
  });

  it('--progress json writes one JSON object per line on stderr; lines a plain line; off nothing', async () => {
    const { progressFor } = await import('../../src/cli/common.js');
    const lines: string[] = [];
    const io = { out: () => {}, err: (s: string) => lines.push(s), isTTY: false };
    const json = progressFor('explore', io, 'json', 0);
    json.update('  explore: 1/2 schedules', { schedules: 1, of: 2 });
    json.update('  explore: 2/2 schedules', { schedules: 2, of: 2 });
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { progress: 'explore', schedules: 1, of: 2 },
      { progress: 'explore', schedules: 2, of: 2 },
    ]);
    lines.length = 0;
    progressFor('run', io, 'auto', 0).update('  1.0 s  faults 10', {});
    expect(lines).toEqual(['gmemsim run: 1.0 s  faults 10']); // auto off a terminal: plain lines
    lines.length = 0;
    progressFor('run', io, 'off', 0).update('x', {});
    progressFor('run', { ...io, isTTY: undefined }, 'auto', 0).update('x', {}); // in-process, not known: quiet
    expect(lines).toEqual([]);
  });
});

describe('the kernel baseline in reports', () => {
  it('every report names the kernel modelled; --kernel overrides the scenario\'s', async () => {
    const text = await cli('explore', '--schedules', '3');
    expect(text.out).toMatch(/^gmemsim explore: scenario "default" \(kernel 7\.0\), variant none/);
    const json = await cli('explore', '--schedules', '3', '--kernel', '6.12', '--json');
    expect(JSON.parse(json.out).kernel).toBe('6.12');
    const bad = await cli('explore', '--kernel', '6.1');
    expect(bad.code).toBe(2);
    expect(bad.err[0]).toContain('--kernel must be one of 6.12, 6.18, 7.0');
  });
});
