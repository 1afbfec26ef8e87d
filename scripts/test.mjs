#!/usr/bin/env node
// `npm test`: the unit project on this host, then the kernel project on the
// real openvswitch module: directly when this host has it, otherwise inside
// the test VM (scripts/vm.sh) for each kernel of the matrix. Ends with one
// "tests: N passed, N failed" line. Zero kernel tests run is a failure.
//
//   node scripts/test.mjs [--unit-only | --kernel-only] [--kernels "6.1 6.12"]
//   OVSNL_KERNELS="6.1"  restricts the VM matrix (default: 6.1 6.12)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readVitestReport } from './vitest-report.mjs';

const args = process.argv.slice(2);
const flag = (f) => args.includes(f);
const value = (f) => {
  const i = args.indexOf(f);
  return i >= 0 ? args[i + 1] : undefined;
};
const kernels = (value('--kernels') ?? process.env.OVSNL_KERNELS ?? '6.1 6.12').split(/[\s,]+/).filter(Boolean);
const vitest = join(process.cwd(), 'node_modules', '.bin', 'vitest');
const results = [];

function runUnit() {
  const dir = mkdtempSync(join(tmpdir(), 'ovsnl-unit-'));
  const report = join(dir, 'report.json');
  const r = spawnSync(vitest, ['run', '--project', 'unit', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`], { stdio: 'inherit' });
  const counts = readVitestReport(report);
  rmSync(dir, { recursive: true, force: true });
  results.push({ suite: 'unit', ...counts, status: r.status ?? 1 });
}

/** Runs a command, echoing its output, and returns the kernel suite's result line. */
function runKernel(label, cmd, cmdArgs) {
  return new Promise((resolve) => {
    const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
    let line;
    let pending = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) {
        const m = /OVSNL-KERNEL-RESULT (\{.*\})/.exec(l);
        if (m) line = JSON.parse(m[1]);
      }
    });
    child.on('close', (code) => {
      const counts = line ?? { passed: 0, failed: 1, skipped: 0, kernel: 'no result: the suite did not report' };
      results.push({ suite: `kernel-${label}`, ...counts, status: code ?? 1 });
      resolve();
    });
  });
}

/**
 * Debian's real ovs-dpctl and ovs-vswitchd, the peers of the interop tests,
 * unpacked by scripts/ovs-peer.sh; handed to the kernel suite (and the VM)
 * through OVSNL_DPCTL / OVSNL_VSWITCHD.
 */
function locatePeers() {
  if (process.env.OVSNL_DPCTL) return;
  const r = spawnSync('bash', ['scripts/ovs-peer.sh'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) {
    process.stdout.write('warning: could not unpack the real ovs-dpctl; interop tests will fail and say why\n');
    return;
  }
  const bin = r.stdout.trim();
  process.env.OVSNL_DPCTL = join(bin, 'ovs-dpctl');
  process.env.OVSNL_VSWITCHD = join(bin, '..', 'lib', 'openvswitch-switch', 'ovs-vswitchd');
}

/** Vitest strips types without checking them: the whole tree (tests too) is checked here. */
function typecheck() {
  const tsc = join(process.cwd(), 'node_modules', '.bin', 'tsc');
  const r = spawnSync(tsc, ['-p', 'tsconfig.json', '--noEmit'], { stdio: 'inherit' });
  results.push({ suite: 'typecheck', passed: r.status === 0 ? 1 : 0, failed: r.status === 0 ? 0 : 1, skipped: 0, status: r.status ?? 1 });
}

/** Tests that run the CLI as a process (bin/ovsnl.js) run dist/: build it from the tree under test. */
function buildDist() {
  const tsc = join(process.cwd(), 'node_modules', '.bin', 'tsc');
  spawnSync(tsc, ['-p', 'tsconfig.build.json'], { stdio: 'ignore' });
  spawnSync(process.execPath, [join(process.cwd(), 'scripts', 'bundle.mjs')], { stdio: 'inherit' });
}

buildDist();
if (!flag('--kernel-only')) {
  typecheck();
  runUnit();
}
if (!flag('--unit-only')) {
  locatePeers();
  if (existsSync('/sys/module/openvswitch')) {
    await runKernel('host', process.execPath, ['scripts/kernel-suite.mjs']);
  } else {
    process.stdout.write(`\nThis host has no openvswitch module: running the kernel suite in the test VM (kernels: ${kernels.join(', ')})\n`);
    for (const k of kernels) await runKernel(k, 'bash', ['scripts/vm.sh', '--kernel', k, '--', process.execPath, 'scripts/kernel-suite.mjs']);
  }
}

let passed = 0;
let failed = 0;
let skipped = 0;
let bad = false;
process.stdout.write('\n');
for (const r of results) {
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped;
  const note = r.kernel ? ` (${r.kernel})` : '';
  process.stdout.write(`${r.suite}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped${note}\n`);
  for (const f of r.failures ?? []) process.stdout.write(`  failed: ${f}\n`);
  if (r.status !== 0 || r.failed > 0) bad = true;
  if (r.suite.startsWith('kernel') && r.passed === 0) {
    process.stdout.write(`${r.suite}: no kernel test passed; a kernel suite that does not run is a failure\n`);
    bad = true;
  }
}
process.stdout.write(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(bad ? 1 : 0);
