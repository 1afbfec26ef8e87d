// What the tunnel comparisons share (tunnel.test.ts, tunnel-gbp.test.ts):
// an IPv4 underlay on a veth whose peer stands for the remote end, a
// fallback daemon with a Dpif and an upcall listener on its socket, and
// datagrams framed for the underlay. Each side runs alone (the kernel's
// tunnel devices and the fallback's sockets cannot hold a UDP port at once).
import { mkdtempSync, rmSync } from 'node:fs';
import { beforeAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelDpif } from '../../src/dpif/kernel.js';
import { Connection } from '../../src/netlink/connection.js';
import { parseMessages } from '../../src/netlink/message.js';
import { UnixTransport } from '../../src/netlink/unix-transport.js';
import { encodeActions } from '../../src/ovs/action-codec.js';
import type { Action } from '../../src/ovs/actions.js';
import { encodeKey } from '../../src/ovs/key-codec.js';
import type { FlowKey } from '../../src/ovs/keys.js';
import { decodeUpcall, type Upcall } from '../../src/ovs/packet.js';
import { startDaemon } from '../../src/userspace/daemon.js';
import { deleteLink, ip, macOf, vethPair } from '../kernel/ovs-helpers.js';
import { requireOvsModule } from '../kernel/setup.js';
import { quiet } from '../kernel/upcall-helpers.js';
import { bytesOf, hex } from './harness.js';

/** Things to undo, last first. */
export type Cleanup = (() => Promise<void> | void)[];

/** IPv4 addresses as unsigned numbers. */
export const u32 = (a: string): number => a.split('.').reduce((x, b) => x * 256 + Number(b), 0);

/**
 * The underlay: a veth `u` with `local`, and `remote` resolved (permanently)
 * to its peer's MAC, so datagrams to the remote leave by `u` and are read at
 * the peer. `frame(ipd)` wraps a datagram as if the remote sent it to us.
 */
export function underlay(prefix: string, local: string, remote: string, cleanup: Cleanup): { u: string; uPeer: string; frame: (ipd: Uint8Array) => Uint8Array } {
  const [u, uPeer] = vethPair(prefix);
  cleanup.push(() => deleteLink(u));
  quiet(u);
  quiet(uPeer);
  ip('addr', 'add', `${local}/24`, 'dev', u);
  ip('neigh', 'replace', remote, 'lladdr', macOf(uPeer), 'dev', u, 'nud', 'permanent');
  const uMac = Buffer.from(macOf(u).replace(/:/g, ''), 'hex');
  const peerMac = Buffer.from(macOf(uPeer).replace(/:/g, ''), 'hex');
  const frame = (ipd: Uint8Array): Uint8Array => {
    const f = new Uint8Array(14 + ipd.length);
    f.set(uMac, 0);
    f.set(peerMac, 6);
    f[12] = 0x08;
    f.set(ipd, 14);
    return f;
  };
  return { u, uPeer, frame };
}

/** A veth pair for the inner side (the datapath takes one end, the test the other), quiet, removed at the end. */
export function innerVeth(prefix: string, cleanup: Cleanup): [string, string] {
  const [b, bPeer] = vethPair(prefix);
  cleanup.push(() => deleteLink(b));
  quiet(b);
  quiet(bPeer);
  return [b, bPeer];
}

export const keyBytes = (k: FlowKey): Uint8Array => bytesOf((w) => encodeKey(w, k));
export const actionBytes = (a: Action[]): Uint8Array => bytesOf((w) => encodeActions(w, a));

/** A JSON.stringify replacer for keys: 64-bit numbers as text, bytes as hex. */
export const jsonable = (_: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? hex(v) : v);

/** A fallback daemon of its own, a Dpif on it, and its socket's path. */
export async function fallbackDaemon(cleanup: Cleanup): Promise<{ dpif: KernelDpif; path: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ovsnl-tun-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'dpd.sock');
  const daemon = await startDaemon({ path, log: () => {} });
  cleanup.push(() => daemon.close());
  const dpif = await KernelDpif.open({ connection: new Connection({ socket: await UnixTransport.connect(path) }), kernelLog: false });
  return { dpif, path };
}

/** A socket on the daemon that collects the upcalls sent to it; its port id is for the vports' upcall pids. */
export async function daemonListener(path: string, upcalls: Upcall[], cleanup: Cleanup): Promise<number> {
  const listener = await UnixTransport.connect(path);
  cleanup.push(() => listener.close());
  listener.watch(() => listener.drain((d) => void upcalls.push(...parseMessages(d).map((m) => decodeUpcall(m)))));
  return listener.portId;
}

/** Polls until check() holds or `ms` passes, then lets stragglers in for a moment. */
export async function settle(check: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end && !check()) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 300));
}

/** Runs the cleanups, last first. */
export async function undo(cleanup: Cleanup): Promise<void> {
  for (const c of cleanup.reverse()) await c();
}

/** The file's results of `run` on each side, kernel first, filled in before its tests (a missing module fails them). */
export function runSidesOnce<T>(run: (label: 'kernel' | 'fallback') => Promise<T>): Partial<Record<'kernel' | 'fallback', T>> {
  const results: Partial<Record<'kernel' | 'fallback', T>> = {};
  beforeAll(async () => {
    requireOvsModule();
    results.kernel = await run('kernel');
    results.fallback = await run('fallback');
  }, 180_000);
  return results;
}
