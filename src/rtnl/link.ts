// Links over rtnetlink (NETLINK_ROUTE): RTM_NEWLINK / DELLINK / GETLINK /
// SETLINK. A link message is `nlmsghdr | struct ifinfomsg | IFLA_* attributes`;
// there is no genlmsghdr. The codec half is pure; the client half is a few
// requests over a Connection opened on NETLINK_ROUTE.
import { AttrWriter, HOST_LE, getString, getU32, nested, parseAttrs, type Attr } from '../netlink/attr.js';
import { Connection, type ConnectionOptions } from '../netlink/connection.js';
import { NETLINK_ROUTE, NLM_F_CREATE, NLM_F_EXCL } from '../netlink/constants.js';
import { MalformedError, NetlinkError } from '../netlink/errors.js';
import { beginMessage, endMessage, type NlMessage } from '../netlink/message.js';
import { macFromBytes } from '../ovs/addr.js';
import {
  AF_UNSPEC,
  IFF_UP,
  IFINFOMSG_LEN,
  IFLA_ADDRESS,
  IFLA_EXT_MASK,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINKINFO,
  IFLA_LINK_NETNSID,
  IFLA_MASTER,
  IFLA_MAX_MTU,
  IFLA_MIN_MTU,
  IFLA_MTU,
  IFLA_OPERSTATE,
  RTEXT_FILTER_SKIP_STATS,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  RTM_SETLINK,
} from './constants.js';

/** The fields of struct ifinfomsg (all default to 0). */
export interface IfInfoHeader {
  family?: number;
  /** ARPHRD_* */
  type?: number;
  index?: number;
  flags?: number;
  /** Which bits of `flags` to change (NEWLINK/SETLINK). */
  change?: number;
}

/** A link as RTM_NEWLINK describes it. */
export interface Link {
  ifindex: number;
  name: string;
  /** ARPHRD_* link type. */
  type: number;
  /** IFF_* flags. */
  flags: number;
  /** IFF_UP is set (administratively up). */
  up: boolean;
  mtu?: number;
  minMtu?: number;
  maxMtu?: number;
  /** ifindex of the master device (a bridge, an OVS datapath). */
  master?: number;
  /** Hardware address, as xx:xx:... text when it is 6 bytes, else hex pairs. */
  address?: string;
  /** IF_OPER_* */
  operstate?: number;
  /** IFLA_INFO_KIND: "vxlan", "veth", "openvswitch"... (absent for plain devices). */
  kind?: string;
  /** IFLA_INFO_SLAVE_KIND: "openvswitch" for an OVS port. */
  slaveKind?: string;
  /** IFLA_INFO_DATA's attributes as received; their meaning depends on `kind`. */
  infoData?: Attr[];
  /** Peer's namespace id, for links whose other end lives elsewhere. */
  linkNetnsid?: number;
  /** Every top-level attribute as received, known or not. */
  attrs: Attr[];
}

/** Writes struct ifinfomsg. */
export function writeIfInfo(w: AttrWriter, h: IfInfoHeader): void {
  w.rawU8(h.family ?? AF_UNSPEC);
  w.rawU8(0);
  w.rawU16(h.type ?? 0);
  w.rawS32(h.index ?? 0);
  w.rawU32(h.flags ?? 0);
  w.rawU32(h.change ?? 0);
}

/** A whole link request: nlmsghdr, ifinfomsg, then what `body` writes. */
export function linkRequest(type: number, flags: number, h: IfInfoHeader, body?: (w: AttrWriter) => void): Uint8Array {
  const w = new AttrWriter(128);
  const start = beginMessage(w, type, flags);
  writeIfInfo(w, h);
  body?.(w);
  endMessage(w, start);
  return w.finish();
}

/** Interface names as the kernel's dev_valid_name() accepts them (IFNAMSIZ 16, NUL included). */
export function validLinkName(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) < 16 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

function checkName(name: string): void {
  if (!validLinkName(name)) throw new RangeError(`invalid interface name ${JSON.stringify(name)}: 1-15 bytes, no '/', ':' or white space`);
}

function hexPairs(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Decodes an RTM_NEWLINK message (a reply to GETLINK, a dump part or a notification). */
export function decodeLink(m: NlMessage): Link {
  const p = m.payload;
  if (p.length < IFINFOMSG_LEN) throw new MalformedError(`link message of ${p.length} bytes has no struct ifinfomsg`);
  const v = new DataView(p.buffer, p.byteOffset, IFINFOMSG_LEN);
  const le = HOST_LE;
  const flags = v.getUint32(8, le);
  const link: Link = {
    ifindex: v.getInt32(4, le),
    name: '',
    type: v.getUint16(2, le),
    flags,
    up: (flags & IFF_UP) !== 0,
    attrs: parseAttrs(p, IFINFOMSG_LEN),
  };
  for (const a of link.attrs) {
    switch (a.type) {
      case IFLA_IFNAME:
        link.name = getString(a);
        break;
      case IFLA_MTU:
        link.mtu = getU32(a);
        break;
      case IFLA_MIN_MTU:
        link.minMtu = getU32(a);
        break;
      case IFLA_MAX_MTU:
        link.maxMtu = getU32(a);
        break;
      case IFLA_MASTER:
        link.master = getU32(a);
        break;
      case IFLA_ADDRESS:
        link.address = a.data.length === 6 ? macFromBytes(a.data) : hexPairs(a.data);
        break;
      case IFLA_OPERSTATE:
        if (a.data.length >= 1) link.operstate = a.data[0];
        break;
      case IFLA_LINK_NETNSID:
        link.linkNetnsid = getU32(a) | 0;
        break;
      case IFLA_LINKINFO:
        for (const i of nested(a)) {
          if (i.type === IFLA_INFO_KIND) link.kind = getString(i);
          else if (i.type === IFLA_INFO_SLAVE_KIND) link.slaveKind = getString(i);
          else if (i.type === IFLA_INFO_DATA) link.infoData = nested(i);
        }
        break;
    }
  }
  return link;
}

// ---- client ---------------------------------------------------------------

/** A Connection on NETLINK_ROUTE (close it when done). */
export function openRoute(opts: Omit<ConnectionOptions, 'protocol'> = {}): Connection {
  // Link replies are small; the default 4 MiB buffer is for genl dumps and upcalls.
  return new Connection({ receiveBufferBytes: 1024 * 1024, ...opts, protocol: NETLINK_ROUTE });
}

/** Runs fn over `conn`, or over a NETLINK_ROUTE connection opened and closed for it. */
export async function withRoute<T>(fn: (conn: Connection) => Promise<T>, conn?: Connection): Promise<T> {
  if (conn) return fn(conn);
  const own = openRoute();
  try {
    return await fn(own);
  } finally {
    own.close();
  }
}

/** A link by name or ifindex in the body of a request. */
function selector(ref: string | number): { header: IfInfoHeader; body: (w: AttrWriter) => void } {
  if (typeof ref === 'number') return { header: { index: ref }, body: () => undefined };
  checkName(ref);
  return { header: {}, body: (w) => w.string(IFLA_IFNAME, ref) };
}

const describeRef = (ref: string | number): string => (typeof ref === 'number' ? `ifindex ${ref}` : ref);

/** The link, or undefined when there is none by that name or index. */
export async function getLink(conn: Connection, ref: string | number): Promise<Link | undefined> {
  const s = selector(ref);
  const req = linkRequest(RTM_GETLINK, 0, s.header, (w) => {
    s.body(w);
    w.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  });
  try {
    const replies = await conn.request(req, { operation: `get link ${describeRef(ref)}` });
    const m = replies.find((r) => r.type === RTM_NEWLINK);
    return m ? decodeLink(m) : undefined;
  } catch (err) {
    if (err instanceof NetlinkError && err.code === 'ENODEV') return undefined;
    throw err;
  }
}

/** Every link of this network namespace. */
export async function listLinks(conn: Connection): Promise<Link[]> {
  const req = linkRequest(RTM_GETLINK, 0, {}, (w) => w.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS));
  const msgs = await conn.dumpAll(req, { operation: 'dump links' });
  return msgs.filter((m) => m.type === RTM_NEWLINK).map(decodeLink);
}

/** What RTM_NEWLINK creates. */
export interface NewLink {
  name: string;
  /** IFLA_INFO_KIND: "vxlan", "geneve", "gretap", "veth", "dummy"... */
  kind: string;
  mtu?: number;
  /** Bring it up on creation (IFF_UP in ifinfomsg). */
  up?: boolean;
  /** Writes the kind's IFLA_INFO_DATA attributes (none when absent). */
  data?: (w: AttrWriter) => void;
  /** Writes further top-level attributes (IFLA_NET_NS_FD...). */
  attrs?: (w: AttrWriter) => void;
  /** Fail with EEXIST if the name is taken (NLM_F_EXCL); default true. */
  exclusive?: boolean;
}

/** Encodes an RTM_NEWLINK creation request (the attribute order OVS and iproute2 use). */
export function newLinkRequest(spec: NewLink): Uint8Array {
  checkName(spec.name);
  const flags = NLM_F_CREATE | (spec.exclusive === false ? 0 : NLM_F_EXCL);
  const up = spec.up ? IFF_UP : 0;
  return linkRequest(RTM_NEWLINK, flags, { flags: up, change: up }, (w) => {
    w.string(IFLA_IFNAME, spec.name);
    if (spec.mtu !== undefined) w.u32(IFLA_MTU, spec.mtu);
    spec.attrs?.(w);
    const li = w.nestStart(IFLA_LINKINFO);
    w.string(IFLA_INFO_KIND, spec.kind);
    if (spec.data) {
      const d = w.nestStart(IFLA_INFO_DATA);
      spec.data(w);
      w.nestEnd(d);
    }
    w.nestEnd(li);
  });
}

/** Creates a link; fails (EEXIST with `exclusive`, EOPNOTSUPP for an unknown kind) as the kernel says. */
export async function createLink(conn: Connection, spec: NewLink): Promise<void> {
  await conn.request(newLinkRequest(spec), { operation: `create ${spec.kind} link ${spec.name}` });
}

/** Deletes a link; false if there was none by that name or index. */
export async function deleteLink(conn: Connection, ref: string | number): Promise<boolean> {
  const s = selector(ref);
  try {
    await conn.request(linkRequest(RTM_DELLINK, 0, s.header, s.body), { operation: `delete link ${describeRef(ref)}` });
    return true;
  } catch (err) {
    if (err instanceof NetlinkError && err.code === 'ENODEV') return false;
    throw err;
  }
}

/** Sets IFF_UP (or clears it). */
export async function setLinkUp(conn: Connection, ref: string | number, up = true): Promise<void> {
  const s = selector(ref);
  const req = linkRequest(RTM_SETLINK, 0, { ...s.header, flags: up ? IFF_UP : 0, change: IFF_UP }, s.body);
  await conn.request(req, { operation: `set link ${describeRef(ref)} ${up ? 'up' : 'down'}` });
}

export async function setLinkMtu(conn: Connection, ref: string | number, mtu: number): Promise<void> {
  const s = selector(ref);
  const req = linkRequest(RTM_SETLINK, 0, s.header, (w) => {
    s.body(w);
    w.u32(IFLA_MTU, mtu);
  });
  await conn.request(req, { operation: `set link ${describeRef(ref)} mtu ${mtu}` });
}
