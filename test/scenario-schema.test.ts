import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ScenarioError, loadScenario, validateScenario } from '../src/scenario/schema.js';
import { BUILTIN_SCENARIOS, DEFAULT_SCENARIO } from '../src/scenario/builtins.js';
import type { Scenario } from '../src/scenario/types.js';

function errorOf(f: () => unknown): ScenarioError {
  try {
    f();
  } catch (e) {
    if (e instanceof ScenarioError) return e;
    throw e;
  }
  throw new Error('expected a ScenarioError');
}

/** Asserts the one-line error names `field` by its full path. */
function expectFieldError(input: unknown, field: string, ...fragments: string[]): ScenarioError {
  const err = errorOf(() => validateScenario(input));
  expect(err.field).toBe(field);
  expect(err.message).toContain(`scenario: ${field} `);
  expect(err.message).not.toMatch(/[\r\n]/);
  for (const f of fragments) expect(err.message).toContain(f);
  return err;
}

const slots = (...s: [number, number, number][]) => s.map(([baseGfn, npages, gmemOffset]) => ({ baseGfn, npages, gmemOffset }));

describe('validateScenario', () => {
  it('accepts the default scenario and fills an empty input with it', () => {
    expect(validateScenario(DEFAULT_SCENARIO)).toEqual(DEFAULT_SCENARIO);
    const s = validateScenario({});
    expect(s).toEqual(DEFAULT_SCENARIO);
    expect(s).not.toBe(DEFAULT_SCENARIO);
    expect(s.vcpus).not.toBe(DEFAULT_SCENARIO.vcpus);
    expect(s.slots).not.toBe(DEFAULT_SCENARIO.slots);
    expect(s.slots[0]).not.toBe(DEFAULT_SCENARIO.slots[0]);
  });

  it('accepts every built-in as it is', () => {
    for (const [name, b] of Object.entries(BUILTIN_SCENARIOS)) expect(validateScenario(b, b), name).toEqual(b);
  });

  it('merges a partial override per sub-object and replaces slots whole', () => {
    const input = { name: 'small', vcpus: { count: 2, pattern: 'hotset' }, puncher: { count: 0 }, slots: slots([0, 8, 0]) };
    const before = structuredClone(input);
    const s = validateScenario(input);
    expect(s).toEqual({
      ...DEFAULT_SCENARIO,
      name: 'small',
      vcpus: { ...DEFAULT_SCENARIO.vcpus, count: 2, pattern: 'hotset' },
      puncher: { ...DEFAULT_SCENARIO.puncher, count: 0 },
      slots: slots([0, 8, 0]),
    });
    expect(input).toEqual(before);
    expect(DEFAULT_SCENARIO).toEqual(BUILTIN_SCENARIOS.default);
    expect(DEFAULT_SCENARIO.vcpus.count).toBe(4);
  });

  it('fills from the given base, not the default', () => {
    const base: Scenario = { ...structuredClone(DEFAULT_SCENARIO), name: 'other', vmType: 'sw_protected' };
    const s = validateScenario({ maxSteps: 100 }, base);
    expect(s).toEqual({ ...base, maxSteps: 100 });
    expect(base.maxSteps).toBe(DEFAULT_SCENARIO.maxSteps);
  });

  it('a kind its base does not place (a built-in written before the kind) runs on node 0; a wrong placement is still an error', () => {
    const base = structuredClone(DEFAULT_SCENARIO);
    delete base.numa!.placement.puncher;
    expect(validateScenario({}, base).numa!.placement).toEqual({ ...DEFAULT_SCENARIO.numa!.placement, puncher: 0 });
    expect(validateScenario({ numa: { placement: { puncher: 1 } } }, base).numa!.placement.puncher).toBe(1);
    expect(errorOf(() => validateScenario({ numa: { placement: { puncher: 'x' } } }, base)).message).toContain('numa.placement.puncher');
  });

  it('rejects a non-object scenario', () => {
    for (const v of [null, 42, 'default', [DEFAULT_SCENARIO]]) {
      const err = errorOf(() => validateScenario(v));
      expect(err.field).toBe('scenario');
      expect(err.message).toMatch(/^scenario: must be a JSON object \(got /);
    }
  });

  it('shows a wrong type as given, without coercion', () => {
    const err = expectFieldError({ vcpus: { count: '4' } }, 'vcpus.count');
    expect(err.message).toBe('scenario: vcpus.count must be an integer from 1 to 64 (got "4")');
    expectFieldError({ gmemPages: '32' }, 'gmemPages', 'got "32"');
    expectFieldError({ vcpus: { fallocateOnConversion: 'true' } }, 'vcpus.fallocateOnConversion', 'true or false', 'got "true"');
    expectFieldError({ vcpus: { fallocateOnConversion: 1 } }, 'vcpus.fallocateOnConversion', 'got 1');
    expectFieldError({ vcpus: { writeFraction: '0.5' } }, 'vcpus.writeFraction', 'got "0.5"');
    expectFieldError({ name: 7 }, 'name', 'got 7');
    expectFieldError({ description: null }, 'description', 'a string', 'got null');
    expectFieldError({ vmType: 1 }, 'vmType', 'got 1');
    expectFieldError({ slots: [{ baseGfn: '0', npages: 16, gmemOffset: 0 }] }, 'slots[0].baseGfn', 'got "0"');
    expectFieldError({ vcpus: 4 }, 'vcpus', 'an object with keys count, ops', 'got 4');
    expectFieldError({ converter: [] }, 'converter', 'got []');
    expectFieldError({ slots: {} }, 'slots', 'got {}');
    expectFieldError({ slots: [7] }, 'slots[0]', 'got 7');
  });

  it('truncates a long given value to 40 characters', () => {
    const err = expectFieldError({ name: 'x'.repeat(100) }, 'name', 'at most 64 characters');
    const shown = /\(got (.*)\)$/.exec(err.message)![1]!;
    expect(shown.length).toBeLessThanOrEqual(40);
    expect(shown.endsWith('...')).toBe(true);
  });

  it('names unknown keys by full path and lists the allowed ones', () => {
    expectFieldError({ vcpus: { cout: 4 } }, 'vcpus.cout', 'unknown key "cout"', 'count, ops, pattern, hotPages');
    expectFieldError({ nmae: 'x' }, 'nmae', 'name, description, kernel, vmType');
    expectFieldError({ slots: [{ baseGfn: 0, npages: 1, gmemOffset: 0, flags: 4 }] }, 'slots[0].flags', 'baseGfn, npages, gmemOffset');
    expectFieldError({ slotChurn: { maxpages: 1 } }, 'slotChurn.maxpages', 'count, ops, maxPages');
    expectFieldError({ base: 'default' }, 'base');
    expectFieldError(JSON.parse('{"__proto__": {"count": 1}}'), '__proto__');
  });

  it('requires every key of a slot', () => {
    expectFieldError({ slots: [{ baseGfn: 0, npages: 16 }] }, 'slots[0].gmemOffset', 'missing');
  });

  // [input, field, text the message must contain]
  const cases: [string, unknown, string, string][] = [
    ['empty name', { name: '' }, 'name', 'non-empty string'],
    ['name > 64 chars', { name: 'n'.repeat(65) }, 'name', 'at most 64'],
    ['vmType', { vmType: 'tdx' }, 'vmType', '"sw_protected", "coco"'],
    ['gmemPages 0', { gmemPages: 0 }, 'gmemPages', 'from 1 to 16777216'],
    ['gmemPages too big', { gmemPages: 16_777_217 }, 'gmemPages', 'from 1 to 16777216'],
    ['gmemPages fractional', { gmemPages: 32.5 }, 'gmemPages', 'integer'],
    ['empty slots', { slots: [] }, 'slots', 'non-empty array of at most 32'],
    ['33 slots', { gmemPages: 33, slots: Array.from({ length: 33 }, (_, i) => ({ baseGfn: i, npages: 1, gmemOffset: i })) }, 'slots', 'at most 32'],
    ['negative baseGfn', { slots: slots([-1, 4, 0]) }, 'slots[0].baseGfn', '>= 0'],
    ['npages 0', { slots: slots([0, 16, 0], [16, 0, 16]) }, 'slots[1].npages', '>= 1'],
    ['negative gmemOffset', { slots: slots([0, 4, -4]) }, 'slots[0].gmemOffset', '>= 0'],
    ['slot past the file', { slots: slots([0, 16, 0], [16, 20, 16]) }, 'slots[1].npages', 'at most 16: gmemOffset 16 + npages must fit the 32-page guest_memfd file'],
    ['gfn space', { gmemPages: 64, slots: slots([16_777_212, 8, 0]) }, 'slots[0].baseGfn', 'at most 16777208'],
    ['pfnPool 0', { pfnPool: 0 }, 'pfnPool', 'from 1 to 33554432'],
    ['pfnPool too big', { pfnPool: 33_554_433 }, 'pfnPool', 'from 1 to 33554432'],
    ['vcpus.count 0', { vcpus: { count: 0 } }, 'vcpus.count', 'from 1 to 64'],
    ['vcpus.count 65', { vcpus: { count: 65 } }, 'vcpus.count', 'from 1 to 64'],
    ['vcpus.count > slot pages', { slots: slots([0, 2, 0]), vcpus: { count: 3 } }, 'vcpus.count', 'at most 2'],
    ['vcpus.ops negative', { vcpus: { ops: -1 } }, 'vcpus.ops', 'from 0 to 10000000'],
    ['vcpus.ops too big', { vcpus: { ops: 10_000_001 } }, 'vcpus.ops', 'from 0 to 10000000'],
    ['vcpus.pattern', { vcpus: { pattern: 'random' } }, 'vcpus.pattern', '"sequential", "uniform", "hotset"'],
    ['vcpus.hotPages', { vcpus: { hotPages: 0 } }, 'vcpus.hotPages', '>= 1'],
    ['vcpus.hotFraction', { vcpus: { hotFraction: 1.5 } }, 'vcpus.hotFraction', 'from 0 to 1'],
    ['vcpus.privateFraction', { vcpus: { privateFraction: -0.1 } }, 'vcpus.privateFraction', 'from 0 to 1'],
    ['vcpus.writeFraction', { vcpus: { writeFraction: 2 } }, 'vcpus.writeFraction', 'from 0 to 1'],
    ['vcpus.conversionRate', { vcpus: { conversionRate: -1 } }, 'vcpus.conversionRate', 'from 0 to 1'],
    ['vcpus.conversionMaxPages', { vcpus: { conversionMaxPages: 0 } }, 'vcpus.conversionMaxPages', '>= 1'],
    ['converter.count', { converter: { count: 17 } }, 'converter.count', 'from 0 to 16'],
    ['puncher.ops', { puncher: { ops: 10_000_001 } }, 'puncher.ops', 'from 0 to 10000000'],
    ['slotChurn.maxPages', { slotChurn: { maxPages: 0 } }, 'slotChurn.maxPages', '>= 1'],
    ['slotChurn.count', { slotChurn: { count: -1 } }, 'slotChurn.count', 'from 0 to 16'],
    ['starvationRetries', { starvationRetries: 0 }, 'starvationRetries', '>= 1'],
    ['maxSteps', { maxSteps: 99 }, 'maxSteps', '>= 100'],
  ];
  it.each(cases)('rejects %s', (_, input, field, text) => {
    expectFieldError(input, field, text, 'got ');
  });

  it('accepts the range limits', () => {
    const s = validateScenario({
      gmemPages: 16_777_216,
      slots: slots([0, 1, 0], [16_777_215, 1, 16_777_215]),
      pfnPool: 33_554_432,
      vcpus: { count: 2, ops: 0, hotFraction: 0, writeFraction: 1 },
      converter: { count: 16, ops: 10_000_000 },
      puncher: { count: 0 },
      maxSteps: 100,
      description: '',
    });
    expect(s.slots).toHaveLength(2);
  });

  it('rejects slots overlapping in gfn space (EEXIST), naming the later slot', () => {
    const err = expectFieldError({ slots: slots([0, 16, 0], [8, 16, 16]) }, 'slots[1].baseGfn', 'slots[0] (gfns 0..15)', 'EEXIST', 'got 8');
    expect(err.message).toContain('gfns 8..23');
    expectFieldError({ slots: slots([16, 16, 0], [0, 17, 16]), gmemPages: 33 }, 'slots[1].baseGfn', 'slots[0]', 'EEXIST');
  });

  it('rejects slots overlapping in the guest_memfd file (EINVAL)', () => {
    expectFieldError({ slots: slots([0, 16, 0], [16, 16, 8]) }, 'slots[1].gmemOffset', 'binding of slots[0] (pages 0..15)', 'EINVAL', 'got 8');
    expectFieldError({ slots: slots([0, 8, 0], [100, 8, 16], [200, 16, 4]) }, 'slots[2].gmemOffset', 'slots[0] (pages 0..7)', 'EINVAL');
  });

  const numericPaths = [
    'gmemPages', 'pfnPool', 'starvationRetries', 'maxSteps',
    ...['count', 'ops', 'hotPages', 'hotFraction', 'privateFraction', 'writeFraction', 'conversionRate', 'conversionMaxPages'].map((k) => `vcpus.${k}`),
    ...['converter', 'puncher', 'slotChurn'].flatMap((o) => ['count', 'ops', 'maxPages'].map((k) => `${o}.${k}`)),
    ...[0, 1].flatMap((i) => ['baseGfn', 'npages', 'gmemOffset'].map((k) => `slots[${i}].${k}`)),
  ];

  /** An input that sets `path` to `value` and leaves the rest to the default. */
  function inputWith(path: string, value: unknown): Record<string, unknown> {
    const slot = /^slots\[(\d)\]\.(\w+)$/.exec(path);
    if (slot) {
      const s: Record<string, unknown>[] = structuredClone(DEFAULT_SCENARIO.slots) as unknown as Record<string, unknown>[];
      s[Number(slot[1])]![slot[2]!] = value;
      return { slots: s };
    }
    const [obj, key] = path.split('.');
    return key === undefined ? { [obj!]: value } : { [obj!]: { [key]: value } };
  }

  it('property: a wrong-typed value for any numeric field is an error on that field', () => {
    const wrong = fc.oneof(
      fc.string(),
      fc.integer().map(String),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.string()), { maxKeys: 3 }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...numericPaths), wrong, (path, value) => {
        const err = errorOf(() => validateScenario(inputWith(path, value)));
        expect(err.field).toBe(path);
        expect(err.message).not.toMatch(/[\r\n]/);
      }),
    );
  });
});

describe('input that would crash gmemsim is refused on one line', () => {
  const deepArrays = (n: number) => JSON.parse('['.repeat(n) + ']'.repeat(n)) as unknown;
  const deepObjects = (n: number) => JSON.parse('{"a":'.repeat(n) + '1' + '}'.repeat(n)) as unknown;

  it('a value nested 10,000 levels deep anywhere: the error shows its first levels (no stack overflow)', () => {
    for (const deep of [deepArrays(10_000), deepObjects(10_000), deepArrays(100_000)]) {
      for (const input of [{ vcpus: deep }, { name: deep }, { gmemPages: deep }, { slots: deep }, { numa: { nodes: deep } }, { numa: { shared: [deep] } }, { variant: deep }, { actorStreams: deep }, { vcpus: { count: deep } }]) {
        const err = errorOf(() => validateScenario(input));
        expect(err.message).not.toMatch(/[\r\n]/);
        expect(err.message.length).toBeLessThan(400);
      }
    }
    expect(errorOf(() => validateScenario({ vcpus: deepArrays(10_000) })).message).toMatch(/^scenario: vcpus must be an object with keys count, .* \(got \[\[\[\[\[…\]\]\]\]\]\)$/);
    expect(errorOf(() => validateScenario({ name: deepObjects(10_000) })).message).toMatch(/^scenario: name must be a non-empty string of at most 64 characters \(got \{"a":\{"a":\{"a":\{"a":\{…\}\}\}\}\}\)$/);
  });

  it('a deep file through loadScenario', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gmemsim-deep-'));
    try {
      const p = join(dir, 'deep.json');
      writeFileSync(p, `{"vcpus":${'['.repeat(10_000)}${']'.repeat(10_000)}}`);
      expect(errorOf(() => loadScenario(p)).field).toBe('vcpus');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows values as JSON, cut at 40 characters; a number JSON cannot write as itself', () => {
    expect(errorOf(() => validateScenario({ gmemPages: Infinity })).message).toContain('(got Infinity)');
    expect(errorOf(() => validateScenario({ gmemPages: [1, 'a', { b: null }] })).message).toContain('(got [1,"a",{"b":null}])');
    expect(errorOf(() => validateScenario({ gmemPages: Array(1e6).fill(7) })).message).toContain('(got [7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,...)');
  });

  it('NUMA nodes whose capacities add up beyond the pfn limit (each within it): refused before anything is allocated', () => {
    const max = 33_554_432;
    const err = expectFieldError({ numa: { nodes: [{ capacity: max }, { capacity: 1 }] } }, 'numa.nodes', `add up to at most ${max} pages`, 'they add up to 33554433');
    expect(err.message).toMatch(/^scenario: numa\.nodes must be nodes whose capacities add up to at most 33554432 pages \(128 GiB, the pfn pool's limit\) \(they add up to 33554433\)$/);
    expectFieldError({ numa: { nodes: Array.from({ length: 64 }, () => ({ capacity: max })) } }, 'numa.nodes', 'they add up to 2147483648');
    // at the limit is fine (the pool is the nodes' total)
    expect(validateScenario({ numa: { nodes: [{ capacity: max / 2 }, { capacity: max / 2 }] } }).pfnPool).toBe(max);
  });

  it('at most 64 NUMA nodes (placement names nodes 0-63), 64 weights, 1024 node ids in a policy', () => {
    expectFieldError({ numa: { nodes: Array.from({ length: 65 }, () => ({ capacity: 1 })) } }, 'numa.nodes', 'at most 64', 'got 65 entries');
    expect(validateScenario({ numa: { nodes: Array.from({ length: 64 }, () => ({ capacity: 1 })) } }).numa!.nodes).toHaveLength(64);
    expectFieldError({ numa: { weights: Array(65).fill(1) } }, 'numa.weights', 'at most 64');
    // a longer list of node ids overflowed the stack in the kernel model's Math.max(...ids)
    expectFieldError({ numa: { task: { mode: 'interleave', nodes: Array(200_000).fill(1), flags: [] } } }, 'numa.task.nodes', 'at most 1024', 'got 200000 entries');
    expectFieldError({ numa: { shared: [{ start: 0, end: 1, policy: { mode: 'bind', nodes: Array(1025).fill(0), flags: [] } }] } }, 'numa.shared[0].policy.nodes', 'at most 1024');
  });

  it('the sizes that decide the allocation stay within their documented limits', () => {
    expectFieldError({ gmemPages: 16_777_217 }, 'gmemPages', 'from 1 to 16777216');
    expectFieldError({ numa: null, pfnPool: 33_554_433 }, 'pfnPool', 'from 1 to 33554432');
    expectFieldError({ numa: { nodes: [{ capacity: 33_554_433 }] } }, 'numa.nodes[0].capacity', 'from 0 to 33554432');
    expectFieldError({ slots: Array.from({ length: 33 }, (_, i) => ({ baseGfn: i, npages: 1, gmemOffset: i })) }, 'slots', 'at most 32 slots');
  });
});

describe('loadScenario', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gmemsim-schema-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('returns a deep copy of a built-in', () => {
    const s = loadScenario('default');
    expect(s).toEqual(DEFAULT_SCENARIO);
    s.vcpus.count = 1;
    s.slots[0]!.npages = 1;
    expect(DEFAULT_SCENARIO.vcpus.count).toBe(4);
    expect(DEFAULT_SCENARIO.slots[0]!.npages).toBe(16);
  });

  it('reads a JSON file, merging onto its base', () => {
    const p = file('small.json', JSON.stringify({ base: 'default', name: 'small', vcpus: { count: 1 } }, null, 2));
    const s = loadScenario(p);
    expect(s).toEqual({ ...DEFAULT_SCENARIO, name: 'small', vcpus: { ...DEFAULT_SCENARIO.vcpus, count: 1 } });
    expect(s).not.toHaveProperty('base');
    expect(loadScenario(file('nobase.json', '{"maxSteps": 500}')).maxSteps).toBe(500);
  });

  it('reports validation errors from a file', () => {
    const err = errorOf(() => loadScenario(file('bad-field.json', '{"vcpus": {"cout": 4}}')));
    expect(err.field).toBe('vcpus.cout');
  });

  it('rejects an unknown base', () => {
    const err = errorOf(() => loadScenario(file('bad-base.json', '{"base": "nope"}')));
    expect(err.field).toBe('base');
    expect(err.message).toContain('default');
    expect(err.message).toContain('got "nope"');
  });

  it('reports a missing file', () => {
    const p = join(dir, 'missing.json');
    const err = errorOf(() => loadScenario(p));
    expect(err.field).toBe('scenario');
    expect(err.message).toMatch(new RegExp(`^scenario: cannot read ${p}: ENOENT`));
    expect(err.message).not.toMatch(/[\r\n]/);
  });

  it('reports bad JSON on one line', () => {
    const p = file('broken.json', '{\n  "name": "x",\n  "vcpus": {\n}\n,}\n');
    const err = errorOf(() => loadScenario(p));
    expect(err.field).toBe('scenario');
    expect(err.message).toContain(`${p} is not valid JSON`);
    expect(err.message).not.toMatch(/[\r\n]/);
  });

  it('rejects an unknown name, listing the built-ins', () => {
    const err = errorOf(() => loadScenario('defualt'));
    expect(err.field).toBe('scenario');
    expect(err.message).toContain('"defualt"');
    expect(err.message).toContain('default');
    expect(err.message).toContain('.json');
    expect(err.message).not.toMatch(/[\r\n]/);
    expect(errorOf(() => loadScenario('toString')).field).toBe('scenario');
  });
});

describe('the kernel baseline', () => {
  it('a scenario models the newest kernel unless it names one; a name outside the baselines is refused naming the field', async () => {
    const { validateScenario } = await import('../src/scenario/schema.js');
    const { NEWEST_KERNEL, KERNEL_BASELINES } = await import('../src/scenario/types.js');
    expect(validateScenario({}).kernel).toBe(NEWEST_KERNEL);
    for (const k of KERNEL_BASELINES) expect(validateScenario({ kernel: k }).kernel).toBe(k);
    expect(() => validateScenario({ kernel: '6.13' })).toThrow(/^scenario: kernel must be one of "6\.12", "6\.18", "7\.0", "next" \(got "6\.13"\)$/);
  });

  it('a recorded scenario that names no kernel (recorded before baselines) is read as the 6.12 model it was recorded by', async () => {
    const { validateScenario } = await import('../src/scenario/schema.js');
    const { replayScenarioBase } = await import('../src/scenario/replay.js');
    const { DEFAULT_SCENARIO } = await import('../src/scenario/builtins.js');
    const { kernel: _k, ...old } = DEFAULT_SCENARIO;
    expect(validateScenario(old, replayScenarioBase()).kernel).toBe('6.12');
  });
});
