// The package as a user gets it: `npm pack`, the tarball installed into a temporary project, the
// binary answering --version, the library's types checked, and examples/vitest run there.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'vitest');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let dir = '';
let proj = '';

const sh = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', NO_COLOR: '1', FORCE_COLOR: '0' } });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gmemsim-pack-'));
  proj = join(dir, 'project');
  // --ignore-scripts: `npm test` has just built dist/; rebuilding it here (prepare) would rewrite files other tests are loading
  const packed = JSON.parse(sh(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT)) as Array<{ filename: string }>;
  const tarball = join(dir, packed[0].filename);
  execFileSync('mkdir', ['-p', proj]);
  writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
  sh(NPM, ['install', '--prefer-offline', '--no-save', tarball], proj);
  // the test runner and the compiler are the user's own; here, the ones this suite runs with
  for (const dep of ['vitest', 'typescript']) symlinkSync(join(ROOT, 'node_modules', dep), join(proj, 'node_modules', dep), 'dir');
  for (const f of readdirSync(EXAMPLE)) if (f.endsWith('.test.ts') || f === 'tsconfig.json') copyFileSync(join(EXAMPLE, f), join(proj, f));
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed package, installed', () => {
  it('ships what runs: the binary prints its version', () => {
    const v = sh(join(proj, 'node_modules', '.bin', 'gmemsim'), ['--version'], proj).trim();
    expect(v).toBe(JSON.parse(sh('node', ['-p', 'JSON.stringify(require("./package.json").version)'], ROOT)));
  });

  it("the library's declarations type-check the example tests", () => {
    sh(process.execPath, [join(proj, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(proj, 'tsconfig.json')], proj);
  });

  it('examples/vitest passes there: a custom scenario explored clean, a variant caught and replayed', () => {
    const out = sh(process.execPath, [join(proj, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', proj, '--reporter', 'verbose'], proj);
    expect(out).toMatch(/custom-scenario\.test\.ts/);
    expect(out).toMatch(/variant-caught\.test\.ts/);
    expect(out).toMatch(/Tests\s+4 passed \(4\)/);
  }, 240_000);
});
