// `ovsnl run --learning` as a process (the built CLI, bin/ovsnl.js) between
// two network namespaces on veth ports of a kernel datapath: ARP, ping and a
// TCP transfer both ways through its megaflows; the megaflows' masks field by
// field; idle flows gone after the timeout; SIGUSR1 statistics; SIGTERM exits
// 0 leaving no flow and no upcall pid of its own.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import { requireOvsModule } from './setup.js';
import { openDpif, waitFor } from './ovs-helpers.js';
import { dump, significant, startRun, twoHosts, waitReady, type Runner, type TwoHosts } from './switch-run-helpers.js';

const TCP = fileURLToPath(new URL('./switch-tcp.mjs', import.meta.url));

/** JSON with bigints (ct_label) as text. */
const show = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

function sh(ns: string, args: string[], timeout = 60_000): { status: number | null; out: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8', timeout });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** A TCP transfer of `bytes` from the client's namespace to a server in the other, echoed back; resolves with the client's report. */
async function tcpTransfer(h: TwoHosts, from: 0 | 1, bytes: number, port: number): Promise<string> {
  const to = 1 - from;
  const server = spawn('ip', ['netns', 'exec', h.ns[to], process.execPath, TCP, 'serve', h.ips[to], String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let sout = '';
  server.stdout!.on('data', (d: Buffer) => (sout += d.toString()));
  server.stderr!.on('data', (d: Buffer) => (sout += d.toString()));
  try {
    if (!(await waitFor(() => sout.includes('listening'), 30_000))) throw new Error(`tcp server: ${sout}`);
    const r = sh(h.ns[from], [process.execPath, TCP, 'send', h.ips[to], String(port), String(bytes)], 90_000);
    if (r.status !== 0) throw new Error(`tcp client (status ${r.status}): ${r.out} / server: ${sout}`);
    return r.out.trim();
  } finally {
    server.kill();
  }
}

describe('ovsnl run --learning', () => {
  let h: TwoHosts;
  let dpif: KernelDpif;
  let run: Runner | undefined;
  beforeAll(async () => {
    requireOvsModule();
    dpif = await openDpif();
    // Neighbours learned by ARP, so that broadcast flooding is part of it.
    h = await twoHosts(dpif, 'swr', 83, false);
  }, 120_000);
  afterAll(async () => {
    if (run && run.child.exitCode === null) run.child.kill('SIGKILL');
    await h?.cleanup();
    dpif?.close();
  });

  it('forwards ARP, ping and TCP both ways through megaflows masked on in_port and the MACs only', async () => {
    run = startRun([h.dp, '--learning', '--idle-timeout', '3']);
    await waitReady(run);
    const ports = (await dpif.listVports(h.dp)).filter((v) => v.portNo !== 0).map((v) => v.portNo).sort();
    expect(ports).toEqual([1, 2]);

    for (const [from, to] of [[0, 1], [1, 0]] as const) {
      const p = sh(h.ns[from], ['ping', '-n', '-c', '3', '-i', '0.3', '-W', '5', h.ips[to]]);
      expect(p.out, p.out).toMatch(/3 packets transmitted, 3 received/);
    }
    const size = 1 << 20;
    expect(await tcpTransfer(h, 0, size, 5101)).toBe(`sent ${size} received ${size} ok`);
    expect(await tcpTransfer(h, 1, size, 5102)).toBe(`sent ${size} received ${size} ok`);

    const flows = await dump(dpif, h.dp);
    expect(flows.length).toBeGreaterThanOrEqual(2);
    const macPort = new Map([[h.macs[0], 1], [h.macs[1], 2]]);
    for (const f of flows) {
      // Exactly what a learning switch reads: in_port, both MACs (recirc_id exact as OVS keeps it).
      expect(significant(f.mask), show(f)).toEqual({ recircId: 0xffffffff, inPort: 0xffffffff, ethernet: { src: 'ff:ff:ff:ff:ff:ff', dst: 'ff:ff:ff:ff:ff:ff' } });
      const dst = f.key.ethernet!.dst;
      if (dst === 'ff:ff:ff:ff:ff:ff') {
        // Broadcast floods to every port but the input one.
        expect(f.actions.map((a) => (a.type === 'output' ? a.port : -1)).sort()).toEqual([0, 1, 2].filter((p) => p !== f.key.inPort));
      } else {
        // Unicast between the two hosts goes to the learned port.
        expect(f.actions, show(f)).toEqual([{ type: 'output', port: macPort.get(dst) }]);
      }
    }
    // Both directions of unicast have their megaflow.
    expect(flows.filter((f) => f.key.ethernet!.dst === h.macs[1] && f.key.inPort === 1)).toHaveLength(1);
    expect(flows.filter((f) => f.key.ethernet!.dst === h.macs[0] && f.key.inPort === 2)).toHaveLength(1);
  });

  it('SIGUSR1 prints statistics to stderr', async () => {
    const before = run!.err().length;
    run!.child.kill('SIGUSR1');
    expect(await waitFor(() => /revalidator: passes=\d+/.test(run!.err().slice(before)), 20_000)).toBe(true);
    const text = run!.err().slice(before);
    const misses = Number(/handler: batches=\d+ misses=(\d+)/.exec(text)?.[1]);
    expect(misses).toBeGreaterThan(0);
    expect(text).toMatch(/installed=[1-9]/);
    expect(text).toMatch(/reasons\.learned=[1-9]/);
    expect(text).toMatch(/reasons\.flood=[1-9]/);
  });

  it('deletes idle flows once the idle timeout has passed', async () => {
    expect((await dump(dpif, h.dp)).length).toBeGreaterThan(0);
    let n = -1;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && n !== 0) {
      await new Promise((r) => setTimeout(r, 500));
      n = (await dump(dpif, h.dp)).length;
    }
    expect(n).toBe(0);
  });

  it('SIGTERM: exits 0, deletes the flows it installed and gives the upcall pids back', async () => {
    const p = sh(h.ns[0], ['ping', '-n', '-c', '2', '-i', '0.3', '-W', '5', h.ips[1]]);
    expect(p.out).toMatch(/2 received/);
    expect((await dump(dpif, h.dp)).length).toBeGreaterThan(0);
    run!.child.kill('SIGTERM');
    expect(await run!.exited).toBe(0);
    expect(run!.err()).toMatch(/stopped: deleted [1-9]\d* flows/);
    expect(await dump(dpif, h.dp)).toEqual([]);
    const dp = await dpif.getDatapath(h.dp);
    const pidsInUse = new Set<number>();
    for (const v of await dpif.listVports(h.dp)) for (const pid of v.upcallPids ?? []) if (pid) pidsInUse.add(pid);
    for (const pid of dp.perCpuPids ?? []) if (pid) pidsInUse.add(pid);
    expect([...pidsInUse]).toEqual([]);
  });
});
