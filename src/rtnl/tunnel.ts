// The tunnel devices behind OVS tunnel vports, made as OVS 3.1 makes them
// (lib/dpif-netlink-rtnl.c): the kernel's own vxlan / geneve / gretap device
// in collect-metadata ("external") mode, named vxlan_sys_<port>,
// genev_sys_<port> or gre_sys, MTU 65000, up. The vport is then an ordinary
// netdev vport over that device; the remote address, key and the like come
// from each packet's tunnel metadata (set(tunnel(...)) actions), not from the
// device, which is why one device per UDP port serves every remote.
import { getBe16, getU8, type Attr } from '../netlink/attr.js';
import type { Connection } from '../netlink/connection.js';
import { NetlinkError } from '../netlink/errors.js';
import { ipv4ToU32OrNeg, ipv6IntoBytes } from '../ovs/addr.js';
import {
  IFLA_GENEVE_COLLECT_METADATA,
  IFLA_GENEVE_PORT,
  IFLA_GENEVE_UDP_ZERO_CSUM6_RX,
  IFLA_GRE_COLLECT_METADATA,
  IFLA_VXLAN_COLLECT_METADATA,
  IFLA_VXLAN_GBP,
  IFLA_VXLAN_LEARNING,
  IFLA_VXLAN_PORT,
  IFLA_VXLAN_UDP_ZERO_CSUM6_RX,
} from './constants.js';
import { createLink, deleteLink, getLink, newLinkRequest, setLinkMtu, withRoute, type Link, type NewLink } from './link.js';

export interface TunnelSpec {
  type: 'vxlan' | 'geneve' | 'gre';
  /** UDP destination port (vxlan: 4789, geneve: 6081 by default); gre has none and ignores it. */
  dstPort?: number;
  /**
   * OVS's remote_ip option: "flow" or an address. It configures the vport in
   * OVS, not the device (which takes the remote from each packet's metadata),
   * so here it is only checked, as OVS checks it.
   */
  remoteIp?: string;
  /** vxlan: the group policy extension (OVS's exts=gbp: IFLA_VXLAN_GBP). */
  gbp?: boolean;
}

/**
 * "For performance, we want to use the largest MTU that the system supports"
 * (OVS): 65000 is below what every tunnel driver accepts.
 */
export const TUNNEL_MTU = 65000;
/** OVS's fallback when a GRE device refuses TUNNEL_MTU. */
export const TUNNEL_MTU_FALLBACK = 1450;
export const VXLAN_DEFAULT_PORT = 4789;
export const GENEVE_DEFAULT_PORT = 6081;

/** Device kinds removeTunnelDevice() is willing to delete. */
const TUNNEL_KINDS = new Set(['vxlan', 'geneve', 'gretap', 'gre', 'ip6gre', 'ip6gretap', 'erspan', 'ip6erspan', 'bareudp']);

/** The kernel device kind for an OVS tunnel type (OVS's gre is layer 2 by default: gretap). */
export function tunnelKind(type: TunnelSpec['type']): 'vxlan' | 'geneve' | 'gretap' {
  switch (type) {
    case 'vxlan':
      return 'vxlan';
    case 'geneve':
      return 'geneve';
    case 'gre':
      return 'gretap';
  }
  throw new TypeError(`unknown tunnel type ${JSON.stringify(type)} (vxlan, geneve or gre)`);
}

/** The UDP port the device listens on (undefined for gre). */
export function tunnelPort(spec: TunnelSpec): number | undefined {
  if (spec.type === 'gre') return undefined;
  const port = spec.dstPort ?? (spec.type === 'vxlan' ? VXLAN_DEFAULT_PORT : GENEVE_DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`${spec.type}: dst_port ${port} is not a UDP port (1-65535)`);
  return port;
}

/** OVS's name for the device: vxlan_sys_4789, genev_sys_6081, gre_sys. */
export function tunnelDeviceName(spec: TunnelSpec): string {
  tunnelKind(spec.type);
  switch (spec.type) {
    case 'vxlan':
      return `vxlan_sys_${tunnelPort(spec)}`;
    case 'geneve':
      return `genev_sys_${tunnelPort(spec)}`;
    case 'gre':
      return 'gre_sys';
  }
}

/** OVS refuses a tunnel without remote_ip, or with one that is neither "flow" nor an address. */
export function checkRemoteIp(spec: TunnelSpec): void {
  const r = spec.remoteIp;
  if (r === undefined || r === 'flow') return;
  if (ipv4ToU32OrNeg(r) >= 0 || ipv6IntoBytes(r, new Uint8Array(16))) return;
  throw new RangeError(`${spec.type} type requires valid 'remote_ip' argument`);
}

/** The RTM_NEWLINK request OVS sends for this tunnel (CREATE|EXCL, up, MTU 65000, external mode). */
export function tunnelNewLink(spec: TunnelSpec): NewLink {
  const port = tunnelPort(spec);
  const link: NewLink = { name: tunnelDeviceName(spec), kind: tunnelKind(spec.type), mtu: TUNNEL_MTU, up: true };
  switch (spec.type) {
    case 'vxlan':
      link.data = (w) => {
        w.u8(IFLA_VXLAN_LEARNING, 0);
        w.u8(IFLA_VXLAN_COLLECT_METADATA, 1);
        w.u8(IFLA_VXLAN_UDP_ZERO_CSUM6_RX, 1);
        w.be16(IFLA_VXLAN_PORT, port!);
        if (spec.gbp) w.flag(IFLA_VXLAN_GBP);
      };
      break;
    case 'geneve':
      link.data = (w) => {
        w.flag(IFLA_GENEVE_COLLECT_METADATA);
        w.u8(IFLA_GENEVE_UDP_ZERO_CSUM6_RX, 1);
        w.be16(IFLA_GENEVE_PORT, port!);
      };
      break;
    case 'gre':
      link.data = (w) => w.flag(IFLA_GRE_COLLECT_METADATA);
      break;
  }
  return link;
}

export function tunnelCreateRequest(spec: TunnelSpec): Uint8Array {
  return newLinkRequest(tunnelNewLink(spec));
}

/** The settings of a tunnel device that OVS sets and checks. */
export interface TunnelDeviceInfo {
  kind: string;
  /** Collect-metadata ("external") mode. */
  external: boolean;
  /** UDP destination port (vxlan, geneve). */
  dstPort?: number;
  /** vxlan: MAC learning. */
  learning?: boolean;
  /** vxlan, geneve: accept IPv6 UDP with a zero checksum. */
  udpZeroCsum6Rx?: boolean;
  /** vxlan: the group policy extension. */
  gbp?: boolean;
}

/** Reads the tunnel settings of a link; undefined when it is not a vxlan, geneve or gre(tap) device. */
export function describeTunnelDevice(link: Link): TunnelDeviceInfo | undefined {
  const data = link.infoData ?? [];
  const find = (type: number): Attr | undefined => data.find((a) => a.type === type);
  const u8 = (type: number): number | undefined => {
    const a = find(type);
    return a && a.data.length === 1 ? getU8(a) : undefined;
  };
  const be16 = (type: number): number | undefined => {
    const a = find(type);
    return a && a.data.length === 2 ? getBe16(a) : undefined;
  };
  switch (link.kind) {
    case 'vxlan': {
      const learning = u8(IFLA_VXLAN_LEARNING);
      const csum = u8(IFLA_VXLAN_UDP_ZERO_CSUM6_RX);
      return {
        kind: link.kind,
        external: u8(IFLA_VXLAN_COLLECT_METADATA) === 1,
        dstPort: be16(IFLA_VXLAN_PORT),
        learning: learning === undefined ? undefined : learning !== 0,
        udpZeroCsum6Rx: csum === undefined ? undefined : csum !== 0,
        gbp: find(IFLA_VXLAN_GBP) !== undefined,
      };
    }
    case 'geneve': {
      const csum = u8(IFLA_GENEVE_UDP_ZERO_CSUM6_RX);
      return {
        kind: link.kind,
        external: find(IFLA_GENEVE_COLLECT_METADATA) !== undefined,
        dstPort: be16(IFLA_GENEVE_PORT),
        udpZeroCsum6Rx: csum === undefined ? undefined : csum !== 0,
      };
    }
    case 'gre':
    case 'gretap':
      return { kind: link.kind, external: find(IFLA_GRE_COLLECT_METADATA) !== undefined };
  }
  return undefined;
}

/**
 * Why an existing device does not serve `spec` (OVS's dpif_netlink_rtnl_verify),
 * or undefined when it does.
 */
export function tunnelMismatch(link: Link, spec: TunnelSpec): string | undefined {
  const kind = tunnelKind(spec.type);
  if (link.kind !== kind) return `is of kind ${link.kind ?? 'none'}, not ${kind}`;
  const info = describeTunnelDevice(link)!;
  if (!info.external) return 'is not in collect-metadata (external) mode';
  if (spec.type === 'vxlan' && info.learning !== false) return 'has MAC learning on';
  if (spec.type === 'vxlan' && info.gbp !== !!spec.gbp) return spec.gbp ? 'lacks the group policy extension (gbp)' : 'has the group policy extension (gbp)';
  if (spec.type !== 'gre') {
    if (info.udpZeroCsum6Rx !== true) return 'refuses IPv6 UDP with a zero checksum (udp6zerocsumrx off)';
    const port = tunnelPort(spec);
    if (info.dstPort !== port) return `listens on UDP port ${info.dstPort ?? 'none'}, not ${port}`;
  }
  return undefined;
}

async function create(conn: Connection, spec: TunnelSpec): Promise<void> {
  const req = tunnelNewLink(spec);
  await createLink(conn, req);
  if (spec.type === 'gre') {
    // OVS: the kernel's GRE driver once ignored IFLA_MTU in RTM_NEWLINK
    // (rhbz#1488484), so set it again, with a smaller value if refused.
    try {
      await setLinkMtu(conn, req.name, TUNNEL_MTU);
    } catch {
      await setLinkMtu(conn, req.name, TUNNEL_MTU_FALLBACK).catch(() => undefined);
    }
  }
}

/**
 * Makes sure the tunnel device for `spec` exists as OVS would have made it,
 * creating it if needed (created: true). An existing device of the right kind
 * but other settings is deleted and made again, as OVS does (which also takes
 * it out of any datapath it was a port of); a device of another kind under
 * that name is left alone and reported.
 */
export async function ensureTunnelDevice(spec: TunnelSpec): Promise<{ name: string; ifindex: number; created: boolean }> {
  checkRemoteIp(spec);
  const name = tunnelDeviceName(spec);
  return withRoute(async (conn) => {
    let created = true;
    try {
      await create(conn, spec);
    } catch (err) {
      if (!(err instanceof NetlinkError && err.code === 'EEXIST')) throw err;
      const existing = await getLink(conn, name);
      const why = existing ? tunnelMismatch(existing, spec) : 'vanished';
      if (existing && !why) {
        created = false;
      } else {
        if (existing && existing.kind !== tunnelKind(spec.type)) {
          throw new Error(`cannot create ${spec.type} tunnel device ${name}: a device of that name exists and ${why}`);
        }
        await deleteLink(conn, name);
        await create(conn, spec);
      }
    }
    const link = await getLink(conn, name);
    const why = link ? tunnelMismatch(link, spec) : 'vanished right after its creation';
    if (!link || why) {
      if (created) await deleteLink(conn, name).catch(() => undefined);
      throw new Error(`${spec.type} tunnel device ${name} ${why}`);
    }
    return { name, ifindex: link.ifindex, created };
  });
}

/**
 * Deletes a tunnel device (ovs-dpctl leaves them behind; ovsnl does not).
 * Nothing to do when it is already gone; refuses devices that are not tunnels.
 */
export async function removeTunnelDevice(name: string): Promise<void> {
  await withRoute(async (conn) => {
    const link = await getLink(conn, name);
    if (!link) return;
    if (!link.kind || !TUNNEL_KINDS.has(link.kind)) {
      throw new Error(`refusing to remove ${name}: it is not a tunnel device (kind ${link.kind ?? 'none'})`);
    }
    await deleteLink(conn, link.ifindex);
  });
}
