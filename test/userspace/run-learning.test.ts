// The userspace half unchanged on the userspace datapath: `ovsnl run
// --learning` (the built CLI) on a daemon datapath between two namespaces
// handles the MISS upcalls, installs megaflows on in_port and the MACs, ping
// goes both ways through them, a port added while it runs is flooded to, and
// SIGTERM leaves no flow behind.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeNsPairs, quiet, readDaemonPid, removeNsPairs, requireBuiltDist, requireRoot, type NsPair } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/ovsnl.js', import.meta.url));
const DP = 'ovsnlrl0';
const PAIRS: NsPair[] = [
  { ns: 'ovsnl-rl1', host: 'ovsrl1a', peer: 'eth0', addr: '10.83.0.1' },
  { ns: 'ovsnl-rl2', host: 'ovsrl2a', peer: 'eth0', addr: '10.83.0.2' },
];
/** Added while `ovsnl run` runs. */
const LATE: NsPair = { ns: 'ovsnl-rl3', host: 'ovsrl3a', peer: 'eth0', addr: '10.83.0.3' };
let dir: string;

const env = () => ({ ...process.env, OVSNL_DPD_DIR: dir, OVSNL_DATAPATH: existsSync('/sys/module/openvswitch') ? 'userspace' : 'auto' });
const ovsnl = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, env: env() });
const ping = (from: number) =>
  new Promise<boolean>((resolve) => execFile('ip', ['netns', 'exec', PAIRS[from].ns, 'ping', '-c', '3', '-i', '0.2', '-W', '2', PAIRS[1 - from].addr], (err) => resolve(!err)));

beforeAll(() => {
  requireRoot('ovsnl run on the userspace datapath');
  requireBuiltDist();
  dir = mkdtempSync(join(tmpdir(), 'ovsnl-rl-'));
  makeNsPairs(PAIRS);
  expect(ovsnl('add-dp', DP).status).toBe(0);
  expect(ovsnl('add-if', DP, PAIRS[0].host, PAIRS[1].host).status).toBe(0);
}, 60_000);

afterAll(() => {
  if (dir) {
    ovsnl('dpd', 'stop');
    const pid = readDaemonPid(join(dir, 'dpd.pid'));
    if (pid) quiet('kill', '-9', String(pid));
  }
  removeNsPairs([...PAIRS, LATE]);
  quiet('ip', 'link', 'del', DP);
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('ovsnl run --learning on the userspace daemon', () => {
  it('learns, installs MAC megaflows, forwards ping both ways, and cleans up on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'run', DP, '--learning'], { stdio: ['ignore', 'pipe', 'pipe'], env: env() });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 300 && !/ovsnl run: switching /.test(log) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
      expect(log).toMatch(/ovsnl run: switching ovsnlrl0 .*learning switch/);
      expect(await ping(0)).toBe(true);
      expect(await ping(1)).toBe(true);
      const macs = PAIRS.map((p) => spawnSync('ip', ['-n', p.ns, '-br', 'link', 'show', 'eth0'], { encoding: 'utf8' }).stdout.split(/\s+/)[2]);
      const flows = ovsnl('dump-flows', DP).stdout.split('\n').filter(Boolean);
      // Known unicast: one megaflow per direction, on in_port and both MACs, with the pings counted.
      for (const [inPort, src, dst, out] of [
        [1, macs[0], macs[1], 2],
        [2, macs[1], macs[0], 1],
      ] as const) {
        const line = flows.find((l) => l.startsWith(`recirc_id(0),in_port(${inPort}),eth(src=${src},dst=${dst}),`));
        expect(line, flows.join('\n')).toBeDefined();
        expect(line).toMatch(new RegExp(`actions:${out}$`));
        expect(Number(/packets:(\d+)/.exec(line!)![1])).toBeGreaterThanOrEqual(3);
      }
      // A port added while the switch runs is flooded to at once: the daemon announces it (vport NEW).
      makeNsPairs([LATE]);
      expect(ovsnl('add-if', DP, LATE.host).status).toBe(0);
      const late = await new Promise<boolean>((resolve) =>
        execFile('ip', ['netns', 'exec', PAIRS[0].ns, 'ping', '-c', '2', '-i', '0.2', '-W', '2', LATE.addr], (err) => resolve(!err)),
      );
      expect(late, 'ping to the port added while running').toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(ovsnl('dump-flows', DP).stdout).toBe('');
  });
});
