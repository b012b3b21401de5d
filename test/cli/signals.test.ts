// SIGINT and SIGTERM on the real binary: the command stops, prints the report of what ran, and
// exits 128 + the signal (its workers are threads of that one process: they end with it). The signal is sent as
// soon as the command has printed its first progress line, so the test waits on the command, not
// on the clock; whether the run has just begun or is well under way, the contract is the same.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'gmemsim.mjs');

interface Stopped {
  code: number | null;
  out: string;
  err: string;
}

/** Start the command with --progress json (a line at once and then often), signal it after its first progress line. */
function interrupt(sig: 'SIGINT' | 'SIGTERM', argv: string[]): Promise<Stopped> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv, '--progress', 'json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GMEMSIM_PROGRESS_MS: '0' } });
    let out = '';
    let err = '';
    let sent = false;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      if (!sent && err.includes('"progress"')) {
        sent = true;
        child.kill(sig);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

describe('signals stop every long command with its partial report', () => {
  it.each([
    ['SIGINT', 130, ['explore', '--schedules', '100000000'], /interrupted by SIGINT: the report covers the [\d,]+ schedules? completed/],
    ['SIGTERM', 143, ['explore', '--schedules', '100000000', '--workers', '2'], /interrupted by SIGTERM: the report covers/],
    ['SIGINT', 130, ['explore', '--strategy', 'dfs', '--preemptions', '4'], /not exhausted: interrupted by SIGINT/],
    ['SIGTERM', 143, ['run', '--engine', 'sim', '--duration', '3600000'], /interrupted by SIGTERM/],
    ['SIGINT', 130, ['run', '--duration', '3600000'], /stopped by SIGINT \(the report covers what ran\)/],
  ] as const)('%s: exit %i on %j, with the report', async (sig, code, argv, report) => {
    const r = await interrupt(sig, [...argv]);
    expect(r.code, r.err).toBe(code);
    expect(r.out).toMatch(report);
    if (!(argv as readonly string[]).includes('dfs')) expect(r.out).toMatch(/activity/);
    expect(r.err).toContain(`gmemsim: ${sig}: stopping`);
  });
});
