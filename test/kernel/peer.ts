// The real ovs-dpctl (Debian's OVS 3.1) that interop tests compare ovsnl with.
// scripts/test.mjs unpacks it (scripts/ovs-peer.sh) and passes its path.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function dpctlPath(): string {
  const p = process.env.OVSNL_DPCTL;
  if (!p || !existsSync(p)) {
    throw new Error('the real ovs-dpctl is not available: run the kernel suite through `npm test` (it sets OVSNL_DPCTL via scripts/ovs-peer.sh)');
  }
  return p;
}

/** Runs ovs-dpctl; returns stdout, throws (with stderr) on a non-zero exit. */
export function dpctl(...args: string[]): string {
  return execFileSync(dpctlPath(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
