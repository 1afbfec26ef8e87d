// veth pairs over rtnetlink, for tests and for the fallback datapath's
// topologies: RTM_NEWLINK of kind "veth" whose VETH_INFO_PEER carries the
// peer's own struct ifinfomsg and attributes, including the network
// namespace it is to live in.
import { closeSync, openSync } from 'node:fs';
import type { AttrWriter } from '../netlink/attr.js';
import type { Connection } from '../netlink/connection.js';
import { IFLA_IFNAME, IFLA_NET_NS_FD, IFLA_NET_NS_PID, VETH_INFO_PEER } from './constants.js';
import { getLink, newLinkRequest, setLinkUp, validLinkName, withRoute, writeIfInfo } from './link.js';

/** A network namespace: an open fd, a name under /run/netns (as `ip netns` makes), or a process. */
export type NetnsRef = { fd: number } | { name: string } | { pid: number };

export interface VethSpec {
  name: string;
  peer: string;
  /** Where the peer goes (default: this namespace). */
  peerNetns?: NetnsRef;
  /** Bring this end up, and the peer too when it stays in this namespace. */
  up?: boolean;
}

function checkNetnsName(name: string): void {
  if (!name || name.includes('/') || name === '.' || name === '..') throw new RangeError(`invalid network namespace name ${JSON.stringify(name)}`);
}

function peerAttrs(spec: VethSpec, nsFd: number | undefined): (w: AttrWriter) => void {
  return (w) => {
    const peer = w.nestStart(VETH_INFO_PEER);
    // Never IFF_UP here: the kernel configures the peer before the pair is
    // joined, and opening a veth without its peer fails with ENOTCONN.
    writeIfInfo(w, {});
    w.string(IFLA_IFNAME, spec.peer);
    if (nsFd !== undefined) w.u32(IFLA_NET_NS_FD, nsFd);
    else if (spec.peerNetns && 'pid' in spec.peerNetns) w.u32(IFLA_NET_NS_PID, spec.peerNetns.pid);
    w.nestEnd(peer);
  };
}

/** The RTM_NEWLINK request for a pair (nsFd: the peer namespace's fd, already open). */
export function vethRequest(spec: VethSpec, nsFd?: number): Uint8Array {
  if (!validLinkName(spec.peer)) throw new RangeError(`invalid interface name ${JSON.stringify(spec.peer)}`);
  return newLinkRequest({ name: spec.name, kind: 'veth', up: spec.up, data: peerAttrs(spec, nsFd) });
}

/** Creates a veth pair; returns this end's ifindex. */
export async function createVethPair(spec: VethSpec, conn?: Connection): Promise<{ ifindex: number }> {
  let fd: number | undefined;
  let opened = false;
  const ns = spec.peerNetns;
  if (ns && 'fd' in ns) fd = ns.fd;
  if (ns && 'name' in ns) {
    checkNetnsName(ns.name);
    fd = openSync(`/run/netns/${ns.name}`, 'r');
    opened = true;
  }
  try {
    return await withRoute(async (c) => {
      await c.request(vethRequest(spec, fd), { operation: `create veth pair ${spec.name}/${spec.peer}` });
      // IFF_UP in the request brought this end up; the peer follows here.
      if (spec.up && !spec.peerNetns) await setLinkUp(c, spec.peer, true);
      const link = await getLink(c, spec.name);
      if (!link) throw new Error(`veth ${spec.name} vanished right after its creation`);
      return { ifindex: link.ifindex };
    }, conn);
  } finally {
    if (opened && fd !== undefined) closeSync(fd);
  }
}
