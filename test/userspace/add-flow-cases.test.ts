// ovs-dpctl 3.1's add-flow cases against the 6.1 module, replayed with ovsnl
// on the userspace daemon: every case must exit as it did there and print
// the same ovs-dpctl error line, and the module's reasons (its kernel log)
// must come back, in order, as the daemon's. Recorded in
// test/fixtures/userspace/dpctl-add-flow-cases.txt (see the fixtures README).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quiet, readDaemonPid, requireBuiltDist, requireRoot, sh } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/ovsnl.js', import.meta.url));
const CASES = fileURLToPath(new URL('../fixtures/userspace/dpctl-add-flow-cases.txt', import.meta.url));
const DP = 'ovsnlafc0';
const VETH = ['ovsafc1', 'ovsafc2'];
let dir: string;

interface Case {
  key: string;
  actions: string;
  /** ovs-dpctl's own lines, as ovsnl prints them (its vlog lines left out). */
  err: string;
  status: number;
}

/** The recorded cases, and the kernel log's reasons in the order they came. */
function load(): { cases: Case[]; reasons: string[] } {
  const text = readFileSync(CASES, 'utf8');
  const cases: Case[] = [];
  const reasons: string[] = [];
  let inLog = false;
  for (const line of text.split('\n')) {
    const m = /^### ovs-dpctl add-flow d1 '([^']*)' '([^']*)'$/.exec(line);
    if (m) cases.push({ key: m[1], actions: m[2], err: '', status: -1 });
    else if (line.startsWith('### kernel log')) inLog = true;
    else if (inLog && /openvswitch: netlink: /.test(line)) reasons.push(line.replace(/^.*openvswitch: netlink: /, ''));
    else if (line.startsWith('ovs-dpctl: ')) cases[cases.length - 1].err += `${line.replace(/^ovs-dpctl: /, 'ovsnl: ')}\n`;
    else if (line.startsWith('rc=')) cases[cases.length - 1].status = Number(line.slice(3));
  }
  return { cases, reasons };
}

const env = () => ({ ...process.env, OVSNL_DPD_DIR: dir, OVSNL_DATAPATH: existsSync('/sys/module/openvswitch') ? 'userspace' : 'auto' });
const ovsnl = (...args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, env: env() });
  return { out: r.stdout, err: r.stderr, status: r.status ?? -1 };
};

beforeAll(() => {
  requireRoot('add-flow cases on the userspace datapath');
  requireBuiltDist();
  dir = mkdtempSync(join(tmpdir(), 'ovsnl-afc-'));
  quiet('ip', 'link', 'del', VETH[0]);
  sh('ip', 'link', 'add', 'name', VETH[0], 'type', 'veth', 'peer', 'name', VETH[1]);
  expect(ovsnl('add-dp', DP).status).toBe(0);
  expect(ovsnl('add-if', DP, ...VETH).status).toBe(0);
}, 60_000);

afterAll(() => {
  if (dir) {
    ovsnl('dpd', 'stop');
    const pid = readDaemonPid(join(dir, 'dpd.pid'));
    if (pid) quiet('kill', '-9', String(pid));
    rmSync(dir, { recursive: true, force: true });
  }
  quiet('ip', 'link', 'del', VETH[0]);
  quiet('ip', 'link', 'del', DP);
}, 60_000);

/**
 * ovsnl also reads `recirc(0x1)`, the form dumps print, which ovs-dpctl
 * refuses: with ovsnl that case installs its flow (ct included, as the
 * module would). It is deleted again so that the next case, the same flow
 * with `recirc(1)`, meets the table the kernel's met.
 */
const DUMP_FORM = new Set(['ct(commit,zone=5),recirc(0x1)']);

describe('ovs-dpctl add-flow cases on the userspace daemon', () => {
  const { cases, reasons } = load();

  it('has the recorded cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
    expect(reasons).toHaveLength(2);
  });

  it('exits and prints as the kernel did, case by case, with the module reasons in order', () => {
    const seen: string[] = [];
    for (const c of cases) {
      const r = ovsnl('add-flow', DP, c.key, c.actions);
      const label = `add-flow '${c.key}' '${c.actions}'`;
      if (DUMP_FORM.has(c.actions)) {
        expect({ label, err: r.err, status: r.status }).toEqual({ label, err: '', status: 0 });
        expect(ovsnl('del-flow', DP, c.key).status).toBe(0);
        continue;
      }
      for (const m of r.err.matchAll(/\): userspace datapath: (.*)$/gm)) seen.push(m[1]);
      expect({ label, err: r.err.replace(/^(ovsnl: .*?\([A-Za-z ]+\)):.*$/gm, '$1'), status: r.status }).toEqual({ label, err: c.err, status: c.status });
    }
    // The kernel logged the reasons in its own order (sorted by `uniq -c`): compare as sets.
    expect(seen.sort()).toEqual([...reasons].sort());
  });
});
