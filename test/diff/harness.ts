// Two datapaths side by side in one process: the kernel's (the openvswitch
// module, over its generic netlink families) and the fallback's (the
// in-process daemon, over its unix socket), each with two veth ports. Both are
// driven through the same Dpif API, and fed the same frames through the veth
// peers, so a test is one scenario run twice and compared.
import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { markUserspaceDpif } from '../../src/dpif/daemon-link.js';
import { KernelDpif } from '../../src/dpif/kernel.js';
import { AttrWriter } from '../../src/netlink/attr.js';
import { encodeActions } from '../../src/ovs/action-codec.js';
import type { Action } from '../../src/ovs/actions.js';
import { encodeKey } from '../../src/ovs/key-codec.js';
import type { FlowKey } from '../../src/ovs/keys.js';
import { copyUpcall, openUpcalls, type Upcalls } from '../../src/dpif/upcalls.js';
import { FRAME_META_WORDS, TP_STATUS_VLAN_TPID_VALID, TP_STATUS_VLAN_VALID, native, type NativeFrameIO } from '../../src/native.js';
import { Connection } from '../../src/netlink/connection.js';
import { parseMessages } from '../../src/netlink/message.js';
import { UnixTransport } from '../../src/netlink/unix-transport.js';
import { decodeUpcall, type Upcall } from '../../src/ovs/packet.js';
import { startDaemon, type Daemon } from '../../src/userspace/daemon.js';
import { deleteLink, uniqueName, vethPair } from '../kernel/ovs-helpers.js';
import { ifindexOf, quiet } from '../kernel/upcall-helpers.js';
import { requireKernelModules } from '../kernel/setup.js';

const SLOT = 4096;

/** Raw frames in and out of one interface, VLAN tags put back from the socket's auxiliary data. */
export class WireTap {
  private readonly io: NativeFrameIO;
  private readonly buf = new Uint8Array(64 * SLOT);
  private readonly lens = new Int32Array(64);
  private readonly meta = new Uint32Array(64 * FRAME_META_WORDS);
  readonly received: Uint8Array[] = [];

  constructor(dev: string) {
    this.io = new (native().PacketSocket)(ifindexOf(dev), { qdiscBypass: true });
  }

  async send(frames: Uint8Array[]): Promise<void> {
    let at = 0;
    while (at < frames.length) {
      const n = this.io.send(frames.slice(at, at + 64));
      at += n;
      if (n === 0) await new Promise((r) => setTimeout(r, 1));
    }
  }

  poll(): Uint8Array[] {
    for (;;) {
      const n = this.io.recv(this.buf, SLOT, this.lens, this.meta);
      for (let i = 0; i < n; i++) {
        const f = this.buf.subarray(i * SLOT, i * SLOT + Math.min(this.lens[i], SLOT));
        const status = this.meta[i * FRAME_META_WORDS];
        const vlan = this.meta[i * FRAME_META_WORDS + 1];
        if (status & TP_STATUS_VLAN_VALID && f.length >= 12) {
          const out = new Uint8Array(f.length + 4);
          out.set(f.subarray(0, 12));
          const tpid = status & TP_STATUS_VLAN_TPID_VALID ? vlan >>> 16 : 0x8100;
          out.set([tpid >> 8, tpid & 0xff, (vlan >> 8) & 0xff, vlan & 0xff], 12);
          out.set(f.subarray(12), 16);
          this.received.push(out);
        } else this.received.push(f.slice());
      }
      if (n < this.lens.length) return this.received;
    }
  }

  /** Drops what has arrived so far. */
  clear(): void {
    this.poll();
    this.received.length = 0;
  }

  close(): void {
    this.io.close();
  }
}

/** One datapath under test. */
export interface Side {
  readonly label: 'kernel' | 'fallback';
  readonly dpif: KernelDpif;
  readonly dp: string;
  /** Datapath ports of the two veth ends. */
  readonly inPort: number;
  readonly outPort: number;
  /** Frames go into the datapath through this (the peer of the in port). */
  readonly input: WireTap;
  /** What the datapath sends out of the out port arrives here. */
  readonly output: WireTap;
  /** MISS and ACTION upcalls received so far. */
  readonly upcalls: Upcall[];
  /** A netlink port id userspace actions can name. */
  readonly upcallPid: number;

  close(): Promise<void>;
}

async function veths(prefix: string): Promise<{ a: string; aPeer: string; b: string; bPeer: string }> {
  const [a, aPeer] = vethPair(`${prefix}a`);
  const [b, bPeer] = vethPair(`${prefix}b`);
  for (const dev of [a, aPeer, b, bPeer]) quiet(dev);
  return { a, aPeer, b, bPeer };
}

export async function kernelSide(prefix: string): Promise<Side> {
  const dpif = await KernelDpif.open();
  const dp = uniqueName(`${prefix}k`);
  await dpif.createDatapath({ name: dp });
  quiet(dp);
  const v = await veths(`${prefix}k`);
  const pa = await dpif.createVport(dp, { name: v.a, type: 'netdev' });
  const pb = await dpif.createVport(dp, { name: v.b, type: 'netdev' });
  const upcalls: Upcall[] = [];
  const up: Upcalls = await openUpcalls(dpif, dp, { dispatch: 'per-vport', onBatch: (batch) => void upcalls.push(...batch.map(copyUpcall)) });
  const input = new WireTap(v.aPeer);
  const output = new WireTap(v.bPeer);
  return {
    label: 'kernel',
    dpif,
    dp,
    inPort: pa.portNo,
    outPort: pb.portNo,
    input,
    output,
    upcalls,
    upcallPid: up.userspacePid,
    async close() {
      input.close();
      output.close();
      await up.close();
      await dpif.deleteDatapath(dp).catch(() => undefined);
      deleteLink(v.a);
      deleteLink(v.b);
      dpif.close();
    },
  };
}

export async function fallbackSide(prefix: string): Promise<Side> {
  const dir = mkdtempSync(join(tmpdir(), 'ovsnl-diff-'));
  const path = join(dir, 'dpd.sock');
  const daemon: Daemon = await startDaemon({ path, log: () => {} });
  const dpif = await KernelDpif.open({ connection: new Connection({ socket: await UnixTransport.connect(path) }), kernelLog: false });
  // As openUserspaceDpif() marks it: what needs more connections (events, handlers) opens them to this daemon.
  markUserspaceDpif(dpif, path);
  const dp = uniqueName(`${prefix}u`);
  await dpif.createDatapath({ name: dp });
  quiet(dp);
  const v = await veths(`${prefix}u`);
  const pa = await dpif.createVport(dp, { name: v.a, type: 'netdev' });
  const pb = await dpif.createVport(dp, { name: v.b, type: 'netdev' });
  const listener = await UnixTransport.connect(path);
  const upcalls: Upcall[] = [];
  listener.watch(() => listener.drain((d) => void upcalls.push(...parseMessages(d).map((m) => decodeUpcall(m)))));
  for (const name of [v.a, v.b]) await dpif.setVport(dp, name, { upcallPids: [listener.portId] });
  const input = new WireTap(v.aPeer);
  const output = new WireTap(v.bPeer);
  return {
    label: 'fallback',
    dpif,
    dp,
    inPort: pa.portNo,
    outPort: pb.portNo,
    input,
    output,
    upcalls,
    upcallPid: listener.portId,
    async close() {
      input.close();
      output.close();
      listener.close();
      await dpif.deleteDatapath(dp).catch(() => undefined);
      dpif.close();
      await daemon.close();
      deleteLink(v.a);
      deleteLink(v.b);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Attribute bytes written by f (keys, masks, actions). */
export const bytesOf = (f: (w: AttrWriter) => void): Uint8Array => {
  const w = new AttrWriter(512);
  f(w);
  return w.finish().slice();
};

const ZERO_MAC = '00:00:00:00:00:00';
const V4_ANY = { src: '0.0.0.0', dst: '0.0.0.0', proto: 0, tos: 0, ttl: 0, frag: 0 };

/** A megaflow for every unfragmented IPv4 frame of `inPort` (MACs wildcarded), with these actions. */
export async function putIpv4Flow(s: Side, inPort: number, actions: Action[]): Promise<void> {
  const key: FlowKey = { inPort, ethernet: { src: ZERO_MAC, dst: ZERO_MAC }, ethertype: 0x0800, ipv4: V4_ANY };
  const mask: FlowKey = { inPort: 0xffffffff, ethernet: { src: ZERO_MAC, dst: ZERO_MAC }, ethertype: 0xffff, ipv4: { ...V4_ANY, frag: 0xff } };
  await s.dpif.putFlow(s.dp, { key: bytesOf((w) => encodeKey(w, key)), mask: bytesOf((w) => encodeKey(w, mask)), actions: bytesOf((w) => encodeActions(w, actions)) });
}

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Polls until check() holds or the time is up (the VM is slow). */
export async function waitFor(check: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

/**
 * The two sides for the file's tests, kernel first: opened before them (a
 * missing module fails them, as every kernel test), closed after. The
 * returned array is filled in beforeAll.
 */
export function useSides(prefix: string, ...modules: string[]): Side[] {
  const sides: Side[] = [];
  beforeAll(async () => {
    requireKernelModules(...modules);
    sides.push(await kernelSide(prefix));
    sides.push(await fallbackSide(prefix));
  }, 60_000);
  afterAll(async () => {
    for (const s of sides.splice(0)) await s.close();
  });
  return sides;
}
