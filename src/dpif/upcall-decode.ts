// The upcall decoder of the hot path. decodeUpcall (src/ovs/packet.ts) goes
// through the generic schema decoder, which builds an Attr object per
// attribute and a model per message: about 0.9 µs an upcall on the host, the
// largest cost per upcall after the system call. This one walks the bytes once
// and fills the same Upcall model with views, no intermediate objects. The
// unit tests hold the two to identical results.
import { HOST_LE, align4, u16At, u32At, type Attr } from '../netlink/attr.js';
import { GENL_HDRLEN, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HDRLEN, NLA_TYPE_MASK, NLMSG_HDRLEN } from '../netlink/constants.js';
import { MalformedError } from '../netlink/errors.js';
import { OVS_HEADER_SIZE } from '../ovs/families.js';
import type { Upcall } from '../ovs/packet.js';
import * as U from '../ovs/uapi.js';

const ATTRS_OFFSET = GENL_HDRLEN + OVS_HEADER_SIZE;

function fixed(b: Uint8Array, off: number, len: number, size: number, what: string): void {
  if (len !== size) throw new MalformedError(`ovs_packet_attr.${what}: needs ${size} bytes, got ${len}`, off);
}

/**
 * Decodes the genl payload buf[start, end) of one ovs_packet message (what
 * follows its nlmsghdr) into an Upcall whose byte fields are views of `buf`.
 * Throws MalformedError, and nothing else, when the bytes are not a MISS or
 * ACTION upcall with a packet and a key.
 */
export function decodeUpcallPayload(buf: Uint8Array, start: number, end: number): Upcall {
  if (end - start < ATTRS_OFFSET) throw new MalformedError(`OVS message payload of ${end - start} bytes lacks genlmsghdr and ovs_header`);
  const cmd = buf[start];
  const kind = cmd === U.OVS_PACKET_CMD_MISS ? 'miss' : cmd === U.OVS_PACKET_CMD_ACTION ? 'action' : undefined;
  if (!kind) throw new MalformedError(`ovs_packet command ${cmd} is not an upcall (MISS 1 or ACTION 2)`);
  const u: Upcall = { kind, dpIfindex: u32At(buf, start + GENL_HDRLEN) | 0, packet: EMPTY, key: EMPTY };
  let hasPacket = false;
  let hasKey = false;
  let off = start + ATTRS_OFFSET;
  while (off < end) {
    if (end - off < NLA_HDRLEN) throw new MalformedError(`ovs_packet_attr: ${end - off} trailing bytes after the last attribute`, off);
    const len = u16At(buf, off);
    const rawType = u16At(buf, off + 2);
    const type = rawType & NLA_TYPE_MASK;
    if (len < NLA_HDRLEN) throw new MalformedError(`ovs_packet_attr: attribute ${type} has length ${len}, below the 4-byte header`, off);
    if (off + len > end) throw new MalformedError(`ovs_packet_attr: attribute ${type} of length ${len} runs past the end of its buffer (${end - off} bytes left)`, off);
    const p = off + NLA_HDRLEN;
    const plen = len - NLA_HDRLEN;
    // A repeated attribute: the last one wins, as in the kernel's nla_parse.
    switch (type) {
      case U.OVS_PACKET_ATTR_PACKET:
        u.packet = buf.subarray(p, p + plen);
        hasPacket = true;
        break;
      case U.OVS_PACKET_ATTR_KEY:
        u.key = buf.subarray(p, p + plen);
        hasKey = true;
        break;
      case U.OVS_PACKET_ATTR_USERDATA:
        u.userdata = buf.subarray(p, p + plen);
        break;
      case U.OVS_PACKET_ATTR_EGRESS_TUN_KEY:
        u.egressTunKey = buf.subarray(p, p + plen);
        break;
      case U.OVS_PACKET_ATTR_ACTIONS:
        u.actions = buf.subarray(p, p + plen);
        break;
      case U.OVS_PACKET_ATTR_MRU:
        fixed(buf, off, plen, 2, 'mru');
        u.mru = u16At(buf, p);
        break;
      case U.OVS_PACKET_ATTR_LEN:
        fixed(buf, off, plen, 4, 'len');
        u.len = u32At(buf, p);
        break;
      case U.OVS_PACKET_ATTR_HASH: {
        fixed(buf, off, plen, 8, 'hash');
        const lo = BigInt(u32At(buf, HOST_LE ? p : p + 4));
        const hi = BigInt(u32At(buf, HOST_LE ? p + 4 : p));
        u.hash = (hi << 32n) | lo;
        break;
      }
      // Request-only attributes mean nothing in an upcall; decodeUpcall drops them too.
      case U.OVS_PACKET_ATTR_PROBE:
        if (plen !== 0) throw new MalformedError(`ovs_packet_attr.probe: flag with a ${plen}-byte payload`, off);
        break;
      case U.OVS_PACKET_ATTR_UPCALL_PID:
        fixed(buf, off, plen, 4, 'upcallPid');
        break;
      default: {
        const a: Attr = { type, flags: rawType & (NLA_F_NESTED | NLA_F_NET_BYTEORDER), data: buf.subarray(p, p + plen) };
        (u.unknown ??= []).push(a);
      }
    }
    off += align4(len);
  }
  if (!hasPacket || !hasKey) throw new MalformedError(`ovs_packet ${kind} upcall without ${hasPacket ? 'OVS_PACKET_ATTR_KEY' : 'OVS_PACKET_ATTR_PACKET'}`);
  return u;
}

const EMPTY = new Uint8Array(0);

/** What walkUpcallDatagram found that was not an upcall. */
export interface DatagramTally {
  /** Messages of another type than ovs_packet (errors, strays). */
  foreign: number;
  /** Messages that do not decode; the rest of their datagram is skipped. */
  malformed: number;
}

/**
 * Calls onUpcall for each ovs_packet upcall in one received datagram (the
 * kernel sends one per datagram, but netlink allows several). `familyId`
 * undefined accepts any message type.
 */
export function walkUpcallDatagram(datagram: Uint8Array, familyId: number | undefined, onUpcall: (u: Upcall) => void, tally: DatagramTally): void {
  let off = 0;
  const n = datagram.length;
  while (off < n) {
    if (n - off < NLMSG_HDRLEN) {
      tally.malformed++;
      return;
    }
    const len = u32At(datagram, off);
    // The kernel does not pad the last message of a datagram from an
    // OVS_DP_F_UNALIGNED datapath, so the length is checked, not its alignment.
    if (len < NLMSG_HDRLEN || off + len > n) {
      tally.malformed++;
      return;
    }
    const type = u16At(datagram, off + 4);
    if (familyId !== undefined && type !== familyId) {
      tally.foreign++;
    } else {
      let u: Upcall;
      try {
        u = decodeUpcallPayload(datagram, off + NLMSG_HDRLEN, off + len);
      } catch (err) {
        if (!(err instanceof MalformedError)) throw err;
        tally.malformed++;
        return;
      }
      onUpcall(u);
    }
    off += align4(len);
  }
}

/** An Upcall whose byte fields are copies, safe to keep after the receive buffer is reused. */
export function copyUpcall(u: Upcall): Upcall {
  // One allocation for all byte fields: upcalls are kept in bulk by queues.
  const total = u.packet.length + u.key.length + (u.userdata?.length ?? 0) + (u.egressTunKey?.length ?? 0) + (u.actions?.length ?? 0);
  const store = new Uint8Array(total);
  let at = 0;
  const take = (src: Uint8Array): Uint8Array => {
    store.set(src, at);
    const out = store.subarray(at, at + src.length);
    at += src.length;
    return out;
  };
  const c: Upcall = { kind: u.kind, dpIfindex: u.dpIfindex, packet: take(u.packet), key: take(u.key) };
  if (u.userdata) c.userdata = take(u.userdata);
  if (u.egressTunKey) c.egressTunKey = take(u.egressTunKey);
  if (u.actions) c.actions = take(u.actions);
  if (u.mru !== undefined) c.mru = u.mru;
  if (u.len !== undefined) c.len = u.len;
  if (u.hash !== undefined) c.hash = u.hash;
  if (u.unknown) c.unknown = u.unknown.map((a) => ({ type: a.type, flags: a.flags, data: a.data.slice() }));
  return c;
}
