#!/usr/bin/env node
// Runs the kernel test project where the openvswitch module is (this host or
// the test VM) and prints one machine-readable result line for scripts/test.mjs,
// since the VM's read-only view of the checkout cannot carry a report file back.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readVitestReport } from './vitest-report.mjs';

const dir = mkdtempSync(join(tmpdir(), 'ovsnl-kernel-'));
const report = join(dir, 'report.json');
const vitest = join(process.cwd(), 'node_modules', '.bin', 'vitest');
const r = spawnSync(vitest, ['run', '--configLoader', 'runner', '--project', 'kernel', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)], {
  stdio: 'inherit',
  // The guest's serial console looks like a terminal; keep CI logs free of escape codes.
  env: process.env.FORCE_COLOR ? process.env : { ...process.env, NO_COLOR: '1' },
});
// Names of at most 20 failures ride on the result line: the VM's output is all the host sees.
const { failures, ...counts } = readVitestReport(report);
rmSync(dir, { recursive: true, force: true });
let kernel = '';
try {
  kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
} catch {}
process.stdout.write(`OVSNL-KERNEL-RESULT ${JSON.stringify({ ...counts, kernel, failures: failures.slice(0, 20) })}\n`);
process.exit(r.status ?? 1);
