// The README's quick start, run as a user runs it: scripts/demo.mjs pings
// across a datapath it builds, shows the flows with counters, and leaves
// nothing behind (namespaces, veths, datapath, the daemon it started).
// Needs `npm run build:ts` first (bin/ovsnl.js runs dist/).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { quiet, readDaemonPid, requireBuiltDist, requireRoot, sh } from './helpers.js';

const DEMO = fileURLToPath(new URL('../../scripts/demo.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ovsnl-demo-test-'));

afterAll(() => {
  // The demo cleans up after itself; this is for when it did not.
  const pid = readDaemonPid(join(dir, 'dpd.pid'));
  if (pid) quiet('kill', String(pid));
  for (const ns of ['ovsnl-demo-a', 'ovsnl-demo-b']) quiet('ip', 'netns', 'del', ns);
  for (const l of ['ovsdemo-a', 'ovsdemo-b', 'ovsnldemo']) quiet('ip', 'link', 'del', l);
  rmSync(dir, { recursive: true, force: true });
});

describe('scripts/demo.mjs (the quick start)', () => {
  it('pings across a fresh datapath, shows flows with stats, and cleans up', () => {
    requireRoot('the demo');
    requireBuiltDist();
    const r = spawnSync(process.execPath, [DEMO], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, OVSNL_DPD_DIR: dir } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('3 packets transmitted, 3 received, 0% packet loss');
    const ipFlows = r.stdout.split('\n').filter((l) => l.includes('eth_type(0x0800)') && l.includes('actions:'));
    expect(ipFlows).toHaveLength(2);
    for (const l of ipFlows) expect(Number(/packets:(\d+)/.exec(l)![1])).toBeGreaterThanOrEqual(3);
    expect(r.stdout).toMatch(/lookups: hit:([1-9]\d*) missed:0 lost:0/);
    if (!existsSync('/sys/module/openvswitch')) expect(r.stdout).toContain('ovsnl: no openvswitch kernel module; using the userspace datapath');
    // Nothing left: namespaces, links, and the daemon the demo started.
    expect(sh('ip', 'netns', 'list')).not.toMatch(/ovsnl-demo-/);
    expect(existsSync('/sys/class/net/ovsnldemo')).toBe(false);
    expect(existsSync('/sys/class/net/ovsdemo-a')).toBe(false);
    expect(existsSync(join(dir, 'dpd.sock'))).toBe(false);
    expect(existsSync(join(dir, 'dpd.pid'))).toBe(false);
  });
});
