// The compiled addon, loaded once. Everything it exports is typed here so the
// rest of the code never sees an untyped native object.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One AF_NETLINK socket as the addon exposes it: bytes in, bytes out. */
export interface NativeNetlinkSocket {
  readonly portId: number;
  readonly fd: number;
  readonly closed: boolean;
  send(data: Uint8Array): number;
  sendBatch(list: Uint8Array[]): number;
  recv(buffer: Uint8Array, slotSize: number, lens: Int32Array, pids?: Uint32Array): number;
  recvWait(buffer: Uint8Array, slotSize: number, lens: Int32Array, pids: Uint32Array | undefined, timeoutMs: number): number;
  setOption(level: number, name: number, value: number): void;
  getOption(level: number, name: number): number;
  pollStart(onReadable: (err?: Error, events?: number) => void): void;
  pollStop(): void;
  ref(): void;
  unref(): void;
  close(): void;
}

/** What recv/send/poll look like for both raw frame sources (AF_PACKET and TAP). */
export interface NativeFrameIO {
  readonly fd: number;
  readonly ifindex: number;
  /**
   * Frames queued now, into slots of `buffer`; never blocks. `meta` gets
   * FRAME_META_WORDS values per frame: tp_status, vlan_tci | tpid << 16,
   * pkttype, length on the wire. A length above slotSize means truncation.
   */
  recv(buffer: Uint8Array, slotSize: number, lens: Int32Array, meta?: Uint32Array): number;
  /** Frames accepted by the kernel (fewer than given: backpressure, retry on writability). */
  send(frames: Uint8Array[]): number;
  /** events: 1 readable, 2 writable. */
  pollStart(events: number, cb: (err: Error | undefined, events: number) => void): void;
  pollStop(): void;
  ref(): void;
  unref(): void;
  close(): void;
}

export interface PacketSocketOptions {
  /** Receive all frames, not only those addressed to the interface. */
  promisc?: boolean;
  /** Prefix each frame with struct virtio_net_hdr (GSO and checksum offload metadata). */
  vnetHdr?: boolean;
  /** Send straight to the driver, skipping the qdisc layer. */
  qdiscBypass?: boolean;
}

export interface TapOptions {
  vnetHdr?: boolean;
  /** TUN_F_* offload bits accepted on frames read from the device. */
  offload?: number;
}

export const FRAME_META_WORDS = 4;
/** tp_status bits (linux/if_packet.h). */
export const TP_STATUS_CSUMNOTREADY = 1 << 3;
export const TP_STATUS_VLAN_VALID = 1 << 4;
export const TP_STATUS_VLAN_TPID_VALID = 1 << 6;
export const TP_STATUS_CSUM_VALID = 1 << 7;

export interface NativeConstants {
  NETLINK_ROUTE: number;
  NETLINK_NETFILTER: number;
  NETLINK_GENERIC: number;
  SOL_SOCKET: number;
  SOL_NETLINK: number;
  SO_RCVBUF: number;
  SO_RCVBUFFORCE: number;
  SO_SNDBUF: number;
  SO_SNDBUFFORCE: number;
  NETLINK_ADD_MEMBERSHIP: number;
  NETLINK_DROP_MEMBERSHIP: number;
  NETLINK_EXT_ACK: number;
  NETLINK_CAP_ACK: number;
  NETLINK_GET_STRICT_CHK: number;
  NETLINK_NO_ENOBUFS: number;
  NETLINK_LISTEN_ALL_NSID: number;
}

export interface NativeAddon {
  NetlinkSocket: new (protocol?: number) => NativeNetlinkSocket;
  PacketSocket: new (ifindex: number, options?: PacketSocketOptions) => NativeFrameIO;
  TapDevice: new (name: string, options?: TapOptions) => NativeFrameIO & { readonly name: string };
  /**
   * A tunnel port's IPv4 datagrams, IP header first, both ways (raw socket,
   * IP_HDRINCL): for protocol 17 (UDP) those to `udpPort`, held by a socket
   * that takes nothing; for 47 (GRE) all. Sent datagrams go to their
   * header's destination. ifindex is 0.
   */
  TunnelSocket: new (protocol: 17 | 47, udpPort?: number) => NativeFrameIO & { readonly port: number };
  /** The IPv4 source address the routing table gives a destination (host-order numbers). */
  routeSource(dst: number): number;
  constants: NativeConstants;
  /** SO_PEERCRED of a connected unix socket's fd. */
  peerCredentials(fd: number): { pid: number; uid: number; gid: number };
}

function findAddon(): string {
  // dist/native.js and src/native.ts sit one level below the package root,
  // the CLI's bundle (dist/bundle/) two.
  const here = dirname(fileURLToPath(import.meta.url));
  const root = join(here, '..');
  for (const base of [root, join(here, '..', '..')]) {
    for (const build of ['Release', 'Debug']) {
      const p = join(base, 'build', build, 'ovsnl.node');
      if (existsSync(p)) return p;
    }
  }
  throw new Error(`ovsnl: native addon not built (looked in ${join(root, 'build')}); run "npm install" or "npm run build"`);
}

let loaded: NativeAddon | undefined;

/** The addon, loaded on first use so that pure codecs work without it. */
export function native(): NativeAddon {
  if (!loaded) loaded = createRequire(import.meta.url)(findAddon()) as NativeAddon;
  return loaded;
}
