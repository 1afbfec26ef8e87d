#!/usr/bin/env node
// Runs the kernel test project where the openvswitch module is (this host or
// the test VM) and prints one machine-readable result line for scripts/test.mjs,
// since the VM's read-only view of the checkout cannot carry a report file back.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'ovsnl-kernel-'));
const report = join(dir, 'report.json');
const vitest = join(process.cwd(), 'node_modules', '.bin', 'vitest');
const r = spawnSync(vitest, ['run', '--configLoader', 'runner', '--project', 'kernel', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)], {
  stdio: 'inherit',
  // The guest's serial console looks like a terminal; keep CI logs free of escape codes.
  env: process.env.FORCE_COLOR ? process.env : { ...process.env, NO_COLOR: '1' },
});
let counts = { passed: 0, failed: 0, skipped: 0 };
try {
  const j = JSON.parse(readFileSync(report, 'utf8'));
  counts = { passed: j.numPassedTests, failed: j.numFailedTests || (j.numFailedTestSuites ?? 0), skipped: j.numPendingTests + j.numTodoTests };
} catch {
  counts.failed = 1;
}
rmSync(dir, { recursive: true, force: true });
let kernel = '';
try {
  kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
} catch {}
process.stdout.write(`OVSNL-KERNEL-RESULT ${JSON.stringify({ ...counts, kernel })}\n`);
process.exit(r.status ?? 1);
