#!/usr/bin/env node
// Runs a benchmark where the openvswitch module is: here if loaded, otherwise
// in the test VM (OVSNL_KERNELS picks the kernel, default 6.1).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/bench.mjs bench/FILE.mjs [args...]');
  process.exit(2);
}
const kernel = (process.env.OVSNL_KERNELS ?? '6.1').split(/[\s,]+/)[0];
// The real ovs-dpctl, the peer most benchmarks run beside ovsnl.
if (!process.env.OVSNL_DPCTL) {
  const peer = spawnSync('bash', ['scripts/ovs-peer.sh'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (peer.status === 0) {
    process.env.OVSNL_DPCTL = join(peer.stdout.trim(), 'ovs-dpctl');
    process.env.OVSNL_VSWITCHD = join(peer.stdout.trim(), '..', 'lib', 'openvswitch-switch', 'ovs-vswitchd');
  }
}
const r = existsSync('/sys/module/openvswitch')
  ? spawnSync(process.execPath, [file, ...rest], { stdio: 'inherit' })
  : spawnSync('bash', ['scripts/vm.sh', '--kernel', kernel, '--', process.execPath, file, ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);
