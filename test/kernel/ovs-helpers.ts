// Shared by the OVS kernel tests: flow keys and actions built by hand as
// attribute bytes (the key/action models are not used here, so these tests
// stand on the message codecs alone), and small host-side helpers.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { AttrWriter, parseAttrs, type Attr } from '../../src/netlink/attr.js';
import { afterAll, beforeAll } from 'vitest';
import { KernelDpif } from '../../src/dpif/kernel.js';
import { requireOvsModule } from './setup.js';

// linux/openvswitch.h, enum ovs_key_attr / ovs_action_attr.
export const KEY_IN_PORT = 3;
export const KEY_ETHERNET = 4;
export const KEY_ETHERTYPE = 6;
export const KEY_IPV4 = 7;
export const KEY_UDP = 10;
export const KEY_ARP = 13;
export const ACTION_OUTPUT = 1;

const mac = (s: string): number[] => s.split(':').map((x) => parseInt(x, 16));
const ipv4 = (s: string): number[] => s.split('.').map(Number);

export interface ArpKey {
  inPort: number;
  src?: string;
  dst?: string;
  op?: number;
  sip?: string;
  tip?: string;
}

/** in_port + eth + eth_type(0x0806) + arp: the attributes the kernel expects of an ARP key. */
export function arpKey(k: ArpKey): Uint8Array {
  const w = new AttrWriter();
  w.u32(KEY_IN_PORT, k.inPort);
  w.bytes(KEY_ETHERNET, new Uint8Array([...mac(k.src ?? '02:00:00:00:00:01'), ...mac(k.dst ?? 'ff:ff:ff:ff:ff:ff')]));
  w.be16(KEY_ETHERTYPE, 0x0806);
  const arp = new Uint8Array(24);
  arp.set(ipv4(k.sip ?? '10.0.0.1'), 0);
  arp.set(ipv4(k.tip ?? '10.0.0.2'), 4);
  new DataView(arp.buffer).setUint16(8, k.op ?? 1, false);
  arp.set(mac(k.src ?? '02:00:00:00:00:01'), 10);
  w.bytes(KEY_ARP, arp);
  return w.finish().slice();
}

/** A mask for arpKey: in_port and eth_type exact (the kernel insists), everything else wildcarded. */
export function anyArpMask(): Uint8Array {
  const w = new AttrWriter();
  w.u32(KEY_IN_PORT, 0xffffffff);
  w.bytes(KEY_ETHERNET, new Uint8Array(12));
  w.be16(KEY_ETHERTYPE, 0xffff);
  w.bytes(KEY_ARP, new Uint8Array(24));
  return w.finish().slice();
}

export interface UdpKey {
  inPort: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

/** in_port + eth + eth_type(0x0800) + ipv4(proto 17) + udp. */
export function udpKey(k: UdpKey): Uint8Array {
  const w = new AttrWriter();
  w.u32(KEY_IN_PORT, k.inPort);
  w.bytes(KEY_ETHERNET, new Uint8Array([...mac('02:00:00:00:00:01'), ...mac('02:00:00:00:00:02')]));
  w.be16(KEY_ETHERTYPE, 0x0800);
  w.bytes(KEY_IPV4, new Uint8Array([...ipv4(k.src), ...ipv4(k.dst), 17, 0, 64, 0]));
  const udp = new Uint8Array(4);
  new DataView(udp.buffer).setUint16(0, k.sport, false);
  new DataView(udp.buffer).setUint16(2, k.dport, false);
  w.bytes(KEY_UDP, udp);
  return w.finish().slice();
}

/** An IPv4 key whose proto (17) is exact but which lacks the udp() attribute: the kernel refuses it. */
export function udpKeyWithoutL4(inPort: number): Uint8Array {
  const full = parseAttrs(udpKey({ inPort, src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 }));
  const w = new AttrWriter();
  for (const a of full) if (a.type !== KEY_UDP) w.attr(a);
  return w.finish().slice();
}

export function outputActions(...ports: number[]): Uint8Array {
  const w = new AttrWriter();
  for (const p of ports) w.u32(ACTION_OUTPUT, p);
  return w.finish().slice();
}

/** The key attributes of a given type, for comparing what the kernel returns (it adds zeroed metadata). */
export function attrOf(stream: Uint8Array | undefined, type: number): Attr | undefined {
  return stream ? parseAttrs(stream).find((a) => a.type === type) : undefined;
}

export function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function linkExists(name: string): boolean {
  try {
    readFileSync(`/sys/class/net/${name}/ifindex`);
    return true;
  } catch {
    return false;
  }
}

export function netStat(ifname: string, stat: 'rx_packets' | 'tx_packets' | 'rx_bytes'): number {
  return Number(readFileSync(`/sys/class/net/${ifname}/statistics/${stat}`, 'utf8'));
}

export function macOf(ifname: string): string {
  return readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim();
}

let counter = 0;
/** A netdev-safe unique name (at most 15 characters). */
export function uniqueName(prefix: string): string {
  return `${prefix}${process.pid % 1000}${(counter++).toString(36)}`.slice(0, 15);
}

/** A veth pair, both ends up; returns their names. */
export function vethPair(prefix: string): [string, string] {
  const a = uniqueName(`${prefix}a`);
  const b = uniqueName(`${prefix}b`);
  ip('link', 'add', 'name', a, 'type', 'veth', 'peer', 'name', b);
  ip('link', 'set', a, 'up');
  ip('link', 'set', b, 'up');
  return [a, b];
}

export function deleteLink(name: string): void {
  try {
    ip('link', 'del', name);
  } catch {
    // already gone (deleting one end of a veth pair removes both)
  }
}

export const openDpif = (): Promise<KernelDpif> => KernelDpif.open();

/** Deletes a datapath if it exists; for cleanup. */
export async function dropDatapath(dpif: KernelDpif, name: string): Promise<void> {
  await dpif.deleteDatapath(name).catch(() => undefined);
}

/**
 * A datapath of the describe block it is called in: created (after checking
 * the module is there) before its tests, with the Dpif handed to `opened`,
 * and deleted after them.
 */
export function useDatapath(name: string, opened: (dpif: KernelDpif) => void): void {
  let dpif: KernelDpif | undefined;
  beforeAll(async () => {
    requireOvsModule();
    dpif = await openDpif();
    opened(dpif);
    await dpif.createDatapath({ name });
  });
  afterAll(async () => {
    if (!dpif) return;
    await dropDatapath(dpif, name);
    dpif.close();
  });
}

/** Polls until check() holds or the time is up (the VM is slow). */
export async function waitFor(check: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}
