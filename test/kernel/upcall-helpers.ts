// Shared by the upcall kernel tests: a datapath with veth and internal
// ports, frames crafted by hand and moved through the addon's PacketSocket,
// and readers for the few key attributes the tests check.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { AttrWriter, parseAttrs } from '../../src/netlink/attr.js';
import { native, type NativeFrameIO } from '../../src/native.js';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import { KEY_IN_PORT, KEY_IPV4, deleteLink, ip, uniqueName, vethPair } from './ovs-helpers.js';

export const KEY_TCP = 9;
export const ACTION_USERSPACE = 2;
const USERSPACE_ATTR_PID = 1;
const USERSPACE_ATTR_USERDATA = 2;
const USERSPACE_ATTR_ACTIONS = 4;
/** OVS_FRAG_TYPE_* in the last byte of struct ovs_key_ipv4. */
export const FRAG_NONE = 0;
export const FRAG_FIRST = 1;
export const FRAG_LATER = 2;

const macBytes = (s: string): number[] => s.split(':').map((x) => parseInt(x, 16));
const ipBytes = (s: string): number[] => s.split('.').map(Number);

function ipv4Checksum(h: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += (h[i] << 8) | h[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface Ipv4FrameSpec {
  src?: string;
  dst?: string;
  srcMac?: string;
  dstMac?: string;
  proto?: number;
  id?: number;
  /** Fragment offset in bytes (a multiple of 8) and the more-fragments flag. */
  fragOffset?: number;
  moreFragments?: boolean;
}

/** Ethernet + IPv4 header (checksummed) + payload. */
export function ipv4Frame(spec: Ipv4FrameSpec, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + 20 + payload.length);
  f.set(macBytes(spec.dstMac ?? '02:00:00:00:00:02'), 0);
  f.set(macBytes(spec.srcMac ?? '02:00:00:00:00:01'), 6);
  f.set([0x08, 0x00], 12);
  const h = f.subarray(14, 34);
  const v = new DataView(f.buffer, 14, 20);
  h[0] = 0x45;
  v.setUint16(2, 20 + payload.length);
  v.setUint16(4, spec.id ?? 1);
  v.setUint16(6, ((spec.moreFragments ? 1 : 0) << 13) | ((spec.fragOffset ?? 0) >> 3));
  h[8] = 64;
  h[9] = spec.proto ?? 17;
  h.set(ipBytes(spec.src ?? '10.79.0.1'), 12);
  h.set(ipBytes(spec.dst ?? '10.79.0.2'), 16);
  v.setUint16(10, ipv4Checksum(h));
  f.set(payload, 34);
  return f;
}

/** A UDP header (checksum 0: none, allowed over IPv4) and payload. */
export function udpSegment(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const u = new Uint8Array(8 + payload.length);
  const v = new DataView(u.buffer);
  v.setUint16(0, sport);
  v.setUint16(2, dport);
  v.setUint16(4, u.length);
  u.set(payload, 8);
  return u;
}

export function udpFrame(sport: number, dport: number, payload: Uint8Array, spec: Ipv4FrameSpec = {}): Uint8Array {
  return ipv4Frame(spec, udpSegment(sport, dport, payload));
}

/** One UDP datagram cut into IPv4 fragments of at most `mtu` bytes of IP packet. */
export function fragmentedUdp(sport: number, dport: number, payload: Uint8Array, mtu: number, spec: Ipv4FrameSpec = {}): Uint8Array[] {
  const whole = udpSegment(sport, dport, payload);
  const step = (mtu - 20) & ~7;
  const out: Uint8Array[] = [];
  for (let off = 0; off < whole.length; off += step) {
    const part = whole.subarray(off, Math.min(whole.length, off + step));
    out.push(ipv4Frame({ ...spec, fragOffset: off, moreFragments: off + step < whole.length }, part));
  }
  return out;
}

export function keyAttr(key: Uint8Array, type: number): Uint8Array | undefined {
  return parseAttrs(key).find((a) => a.type === type)?.data;
}

export function inPortOf(key: Uint8Array): number {
  const d = keyAttr(key, KEY_IN_PORT);
  if (!d) throw new Error('key without in_port');
  return new DataView(d.buffer, d.byteOffset, 4).getUint32(0, true);
}

/** The ipv4_frag byte of the key's struct ovs_key_ipv4 (undefined: not IPv4). */
export function ipv4FragOf(key: Uint8Array): number | undefined {
  return keyAttr(key, KEY_IPV4)?.[11];
}

/** userspace(pid=..., userdata(...)[, actions]) as an OVS_ACTION_ATTR_* stream. */
export function userspaceAction(pid: number, userdata: Uint8Array, withActions = false): Uint8Array {
  const w = new AttrWriter();
  const t = w.nestStart(ACTION_USERSPACE);
  w.u32(USERSPACE_ATTR_PID, pid);
  w.bytes(USERSPACE_ATTR_USERDATA, userdata);
  if (withActions) w.flag(USERSPACE_ATTR_ACTIONS);
  w.nestEnd(t);
  return w.finish().slice();
}

/** Turns IPv6 off on a device so its autoconfiguration chatter stays out of the datapath. */
export function quiet(dev: string): void {
  const knob = `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`;
  if (existsSync(knob)) writeFileSync(knob, '1');
}

export const ifindexOf = (dev: string): number => Number(readFileSync(`/sys/class/net/${dev}/ifindex`, 'utf8'));

const SLOT = 2048;

/** Raw frames in and out of one interface. */
export class FrameTap {
  private readonly io: NativeFrameIO;
  private readonly buf = new Uint8Array(64 * SLOT);
  private readonly lens = new Int32Array(64);
  readonly received: Uint8Array[] = [];

  constructor(dev: string) {
    this.io = new (native().PacketSocket)(ifindexOf(dev), { qdiscBypass: true });
  }

  /** Sends all frames, waiting out the socket's backpressure. */
  async send(frames: Uint8Array[]): Promise<void> {
    let at = 0;
    while (at < frames.length) {
      const n = this.io.send(frames.slice(at, at + 64));
      at += n;
      if (n === 0) await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Reads what has arrived into `received`. */
  poll(): Uint8Array[] {
    for (;;) {
      const n = this.io.recv(this.buf, SLOT, this.lens);
      for (let i = 0; i < n; i++) this.received.push(this.buf.slice(i * SLOT, i * SLOT + Math.min(this.lens[i], SLOT)));
      if (n < this.lens.length) return this.received;
    }
  }

  close(): void {
    this.io.close();
  }
}

/** A datapath with two veth netdev ports and an internal port, all quiet. */
export interface Topology {
  dp: string;
  dpIfindex: number;
  /** veth ends in the datapath (a, b) and their peers outside it. */
  a: string;
  aPeer: string;
  aPort: number;
  b: string;
  bPeer: string;
  bPort: number;
  internal: string;
  internalPort: number;
  remove(): Promise<void>;
}

export async function topology(dpif: KernelDpif, prefix: string): Promise<Topology> {
  const dp = uniqueName(prefix);
  const d = await dpif.createDatapath({ name: dp });
  quiet(dp);
  const [a, aPeer] = vethPair(`${prefix}a`);
  const [b, bPeer] = vethPair(`${prefix}b`);
  for (const dev of [a, aPeer, b, bPeer]) quiet(dev);
  const internal = uniqueName(`${prefix}i`);
  const pa = await dpif.createVport(dp, { name: a, type: 'netdev' });
  const pb = await dpif.createVport(dp, { name: b, type: 'netdev' });
  const pi = await dpif.createVport(dp, { name: internal, type: 'internal' });
  quiet(internal);
  ip('link', 'set', internal, 'up');
  return {
    dp,
    dpIfindex: d.dpIfindex,
    a,
    aPeer,
    aPort: pa.portNo,
    b,
    bPeer,
    bPort: pb.portNo,
    internal,
    internalPort: pi.portNo,
    async remove() {
      await dpif.deleteDatapath(dp).catch(() => undefined);
      deleteLink(a);
      deleteLink(b);
    },
  };
}

/** Output actions as an OVS_ACTION_ATTR_* stream. */
export { outputActions } from './ovs-helpers.js';

/** A marker payload: `tag` then the index, so the tests can tell their frames from any noise. */
export function tagged(tag: string, i: number, size = 32): Uint8Array {
  const p = new Uint8Array(size);
  p.set(Buffer.from(`${tag}${i}:`));
  return p;
}

export function hasTag(packet: Uint8Array, tag: string): boolean {
  return Buffer.from(packet.buffer, packet.byteOffset, packet.length).includes(tag);
}
