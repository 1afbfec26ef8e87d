// The ctnetlink requests the daemon answers for its connection tracker, so
// that dump-conntrack, flush-conntrack and ct-stats-show (and any ctnetlink
// client pointed at the daemon's socket) read and clear the userspace
// datapath's table as they do the kernel's: a dump of IPCTNL_MSG_CT_NEW
// entries, DELETE of one entry (by zone, original tuple and id) or of all,
// and GET_STATS with the table's size and limit.
import { getBe16, getBe32, parseAttrs, type Attr } from '../netlink/attr.js';
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_MULTI } from '../netlink/constants.js';
import type { NlMessage } from '../netlink/message.js';
import {
  AF_UNSPEC,
  CTA_ID,
  CTA_STATS_GLOBAL_ENTRIES,
  CTA_STATS_GLOBAL_MAX_ENTRIES,
  CTA_TUPLE_ORIG,
  CTA_ZONE,
  IPCTNL_MSG_CT_DELETE,
  IPCTNL_MSG_CT_GET,
  IPCTNL_MSG_CT_GET_STATS,
  NFGENMSG_LEN,
  NFNL_SUBSYS_CTNETLINK,
} from '../conntrack/constants.js';
import { ctRequest, decodeTuple, encodeCtEntry } from '../conntrack/entry.js';
import type { ConnTracker } from './conntrack.js';
import { encodeDone, encodeError } from './genl-service.js';

const ENOENT = 2;
const EINVAL = 22;
const EOPNOTSUPP = 95;

/** Whether a message is ctnetlink's (the kernel's NETLINK_NETFILTER subsystem 1). */
export const isCtnetlink = (type: number): boolean => type >> 8 === NFNL_SUBSYS_CTNETLINK;

/** A netfilter request as the daemon's services take it: its nfgenmsg family and attributes, and its replies. */
export interface NfCall {
  family: number;
  attrs: Attr[];
  attr(type: number): Attr | undefined;
  /** The error reply (with the message as the extended ack's). */
  fail(errno: number, message: string): Uint8Array[];
  /** The ACK, if the request asked for one. */
  ack(): Uint8Array[];
}

/** Reads a request of netfilter subsystem `what`; one without a whole nfgenmsg or with bad attributes gets its EINVAL reply instead. */
export function nfCall(req: NlMessage, pid: number, what: string): NfCall | Uint8Array[] {
  const fail = (errno: number, message: string) => [encodeError(req, pid, errno, { message })];
  const p = req.payload;
  if (p.length < NFGENMSG_LEN) return fail(EINVAL, `${what}: message shorter than struct nfgenmsg`);
  let attrs: Attr[];
  try {
    attrs = parseAttrs(p, NFGENMSG_LEN);
  } catch (err) {
    return fail(EINVAL, `${what}: ${(err as Error).message}`);
  }
  return {
    family: p[0],
    attrs,
    attr: (t) => attrs.find((a) => a.type === t),
    fail,
    ack: () => (req.flags & NLM_F_ACK ? [encodeError(req, pid, 0)] : []),
  };
}

/** Every message that answers `req` (entries, ACK or error, DONE for a dump). */
export function serveCtnetlink(req: NlMessage, pid: number, tracker: ConnTracker): Uint8Array[] {
  const call = nfCall(req, pid, 'ctnetlink');
  if (Array.isArray(call)) return call;
  const { family, attr, fail, ack } = call;
  switch (req.type & 0xff) {
    case IPCTNL_MSG_CT_GET: {
      if (!(req.flags & NLM_F_DUMP)) return fail(EOPNOTSUPP, 'the ovsnl datapath daemon answers conntrack dumps, not single GETs');
      const out: Uint8Array[] = [];
      for (const e of tracker.entries()) {
        if (family !== AF_UNSPEC && e.family !== family) continue;
        out.push(encodeCtEntry(e, NLM_F_MULTI, req.seq, pid));
      }
      out.push(encodeDone(req.seq, pid));
      return out;
    }
    case IPCTNL_MSG_CT_DELETE: {
      const orig = attr(CTA_TUPLE_ORIG);
      if (!orig) {
        // No tuple: the whole table (ctnetlink_flush_conntrack), of one family if named.
        tracker.flush(undefined, family === AF_UNSPEC ? undefined : family);
        return ack();
      }
      let tuple;
      try {
        tuple = decodeTuple(orig, family, 'original');
      } catch (err) {
        return fail(EINVAL, (err as Error).message);
      }
      const zone = attr(CTA_ZONE);
      const id = attr(CTA_ID);
      if (!tracker.deleteEntry(zone ? getBe16(zone) : 0, tuple, id ? getBe32(id) : undefined)) return fail(ENOENT, 'no such conntrack entry');
      return ack();
    }
    case IPCTNL_MSG_CT_GET_STATS: {
      const { w, end } = ctRequest(IPCTNL_MSG_CT_GET_STATS, AF_UNSPEC, 48, { seq: req.seq, pid });
      w.be32(CTA_STATS_GLOBAL_ENTRIES, tracker.size);
      w.be32(CTA_STATS_GLOBAL_MAX_ENTRIES, tracker.capacity);
      return [end().slice(), ...ack()];
    }
    default:
      return fail(EOPNOTSUPP, `ctnetlink message ${req.type & 0xff} is not served by the ovsnl datapath daemon`);
  }
}
