// The kernel datapath's connection tracker is netfilter's: its entries are
// read and deleted over ctnetlink (NETLINK_NETFILTER, subsystem CTNETLINK),
// not through an OVS family. This is what ovs-dpctl's dump-conntrack,
// flush-conntrack and ct-stats-show do for a system datapath
// (lib/netlink-conntrack.c); conntrack is per network namespace, so the
// datapath only names which namespace's tracker is meant.
import { existsSync } from 'node:fs';
import { getBe32, type Attr } from '../netlink/attr.js';
import { Connection, type ConnectionOptions } from '../netlink/connection.js';
import { NETLINK_NETFILTER } from '../netlink/constants.js';
import { MalformedError, NetlinkError } from '../netlink/errors.js';
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
  IPCTNL_MSG_CT_NEW,
  NFNL_SUBSYS_CTNETLINK,
  nfnlType,
} from './constants.js';
import { ctRequest, decodeCtEntry, parseNfMessage, writeTuple, type CtEntry, type CtTuple } from './entry.js';
import { ctEntryMatches, isFiveTuple, isZeroMatch, isZeroTuple, tupleOfMatch, type CtMatch } from './match.js';

/** ctnetlink is missing from this kernel: nf_conntrack_netlink (or nfnetlink) is not loaded. */
export class ConntrackUnavailableError extends Error {
  override readonly name = 'ConntrackUnavailableError';
  readonly code = 'ECTNETLINK';
  constructor(cause?: unknown) {
    super(
      'conntrack over netlink is not available on this kernel: the nf_conntrack_netlink module is not loaded ' +
        '(modprobe nf_conntrack_netlink)',
      cause === undefined ? undefined : { cause },
    );
  }
}

const MODULE_DIR = '/sys/module/nf_conntrack_netlink';

/** A kernel refusal that means ctnetlink is absent becomes ConntrackUnavailableError. */
function explain(err: unknown): unknown {
  if (err instanceof NetlinkError) {
    if (err.code === 'EPROTONOSUPPORT') return new ConntrackUnavailableError(err);
    // nfnetlink answers requests for a subsystem nobody registered with EINVAL
    // (EOPNOTSUPP on some kernels); only blame the module if it is really absent.
    if ((err.code === 'EINVAL' || err.code === 'EOPNOTSUPP') && !existsSync(MODULE_DIR) && existsSync('/sys/module')) {
      return new ConntrackUnavailableError(err);
    }
  }
  return err;
}

/** A Connection on NETLINK_NETFILTER (close it when done). */
export function openConntrack(opts: Omit<ConnectionOptions, 'protocol'> = {}): Connection {
  try {
    return new Connection({ ...opts, protocol: NETLINK_NETFILTER });
  } catch (err) {
    throw explain(err);
  }
}

/** Runs fn over `conn`, or over a conntrack connection opened and closed for it. */
export async function withConntrack<T>(fn: (conn: Connection) => Promise<T>, conn?: Connection): Promise<T> {
  if (conn) return fn(conn);
  const own = openConntrack();
  try {
    return await fn(own);
  } finally {
    own.close();
  }
}

export interface CtDumpOptions {
  /** Only entries of this zone (filtered here, as OVS does: kernels filter zones only with CTA_FILTER). */
  zone?: number;
  /** AF_INET or AF_INET6: only that family (the kernel filters). Default: both. */
  family?: number;
  /** Called for each entry that does not decode (OVS skips those silently). */
  onSkip?: (err: MalformedError) => void;
}

/** The IPCTNL_MSG_CT_GET dump request OVS sends (AF_UNSPEC unless a family is named). */
export function ctDumpRequest(family = AF_UNSPEC): Uint8Array {
  return ctRequest(IPCTNL_MSG_CT_GET, family).end();
}

/** Entries as the kernel hands them out (its hash order, which is ovs-dpctl's order too). */
export async function* iterateConntrack(conn: Connection, opts: CtDumpOptions = {}): AsyncGenerator<CtEntry> {
  const newType = nfnlType(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW);
  try {
    for await (const m of conn.dump(ctDumpRequest(opts.family), { operation: 'conntrack dump' })) {
      if (m.type !== newType) continue;
      let e: CtEntry;
      try {
        e = decodeCtEntry(m);
      } catch (err) {
        if (!(err instanceof MalformedError)) throw err;
        opts.onSkip?.(err);
        continue;
      }
      if (opts.zone !== undefined && e.zone !== opts.zone) continue;
      yield e;
    }
  } catch (err) {
    throw explain(err);
  }
}

export async function dumpConntrack(conn: Connection, opts: CtDumpOptions = {}): Promise<CtEntry[]> {
  const out: CtEntry[] = [];
  for await (const e of iterateConntrack(conn, opts)) out.push(e);
  return out;
}

/** IPCTNL_MSG_CT_DELETE of everything (AF_UNSPEC, no attributes): the whole table. */
export function ctFlushAllRequest(): Uint8Array {
  return ctRequest(IPCTNL_MSG_CT_DELETE, AF_UNSPEC).end();
}

/** Deletes the connection with this original tuple in `zone` (OVS's nl_ct_flush_tuple). */
export function ctDeleteTupleRequest(tuple: CtTuple, zone: number): Uint8Array {
  const { w, end } = ctRequest(IPCTNL_MSG_CT_DELETE, tuple.family, 96);
  w.be16(CTA_ZONE, zone);
  writeTuple(w, CTA_TUPLE_ORIG, tuple);
  return end();
}

/** Deletes exactly this entry: its zone, its original tuple as the kernel sent it, and its id. */
export function ctDeleteEntryRequest(e: CtEntry): Uint8Array {
  const { w, end } = ctRequest(IPCTNL_MSG_CT_DELETE, e.family, 96);
  w.be16(CTA_ZONE, e.zone);
  w.bytes(CTA_TUPLE_ORIG, e.origTupleBytes);
  w.be32(CTA_ID, e.id);
  return end();
}

/** Deletes one tuple; the kernel's ENOENT when there is none is passed on. */
export async function deleteCtTuple(conn: Connection, tuple: CtTuple, zone = 0): Promise<void> {
  try {
    await conn.request(ctDeleteTupleRequest(tuple, zone), { operation: 'conntrack delete' });
  } catch (err) {
    throw explain(err);
  }
}

/** Deletes entries (pipelined); entries already gone are not an error. Returns how many the kernel deleted. */
export async function deleteCtEntries(conn: Connection, entries: CtEntry[]): Promise<number> {
  const results = await Promise.allSettled(entries.map((e) => conn.request(ctDeleteEntryRequest(e), { operation: 'conntrack delete' })));
  let deleted = 0;
  for (const r of results) {
    if (r.status === 'fulfilled') deleted++;
    else if (!(r.reason instanceof NetlinkError && r.reason.code === 'ENOENT')) throw explain(r.reason);
  }
  return deleted;
}

export interface CtFlushOptions {
  /** Only this zone (with a match: the zone of a five-tuple, default 0). */
  zone?: number;
  /** Only connections that match (flush-conntrack's tuple arguments). */
  match?: CtMatch;
}

/**
 * flush-conntrack, as OVS 3.1 does it on the kernel datapath: everything in
 * one request; a zone by dumping it and deleting each entry; a full original
 * five-tuple (and no reply tuple) by deleting that tuple directly (ENOENT if
 * there is no such connection); any other match by dumping and deleting what
 * matches. Resolves with the number of entries deleted where it is known.
 */
export async function flushConntrack(conn: Connection, opts: CtFlushOptions = {}): Promise<number | undefined> {
  const { zone, match } = opts;
  try {
    if (match && !isZeroMatch(match)) {
      if (isFiveTuple(match.orig, match.proto) && isZeroTuple(match.reply, match.proto)) {
        await deleteCtTuple(conn, tupleOfMatch(match), zone ?? 0);
        return 1;
      }
      const hits = (await dumpConntrack(conn, { zone })).filter((e) => ctEntryMatches(e, match));
      return await deleteCtEntries(conn, hits);
    }
    if (zone !== undefined) return await deleteCtEntries(conn, await dumpConntrack(conn, { zone }));
    await conn.request(ctFlushAllRequest(), { operation: 'conntrack flush' });
    return undefined;
  } catch (err) {
    throw explain(err);
  }
}

/** The table's size and limit (IPCTNL_MSG_CT_GET_STATS: net.netfilter.nf_conntrack_count and _max). */
export async function conntrackCount(conn: Connection): Promise<{ entries: number; maxEntries?: number }> {
  let replies;
  try {
    replies = await conn.request(ctRequest(IPCTNL_MSG_CT_GET_STATS, AF_UNSPEC).end(), { operation: 'conntrack stats' });
  } catch (err) {
    throw explain(err);
  }
  const m = replies.find((r) => r.type === nfnlType(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET_STATS));
  if (!m) throw new MalformedError('conntrack stats: no reply before the ACK');
  const attrs: Attr[] = parseNfMessage(m).attrs;
  const entries = attrs.find((a) => a.type === CTA_STATS_GLOBAL_ENTRIES);
  const max = attrs.find((a) => a.type === CTA_STATS_GLOBAL_MAX_ENTRIES);
  if (!entries) throw new MalformedError('conntrack stats without CTA_STATS_GLOBAL_ENTRIES');
  return { entries: getBe32(entries), maxEntries: max ? getBe32(max) : undefined };
}
