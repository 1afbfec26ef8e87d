// The daemon's ctnetlink: entries written as the kernel writes them (read
// back by the same decoder the CLI uses on the kernel's), dumps, deletes by
// tuple and id, flushes and stats, against a tracker fed real packets.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ctDeleteEntryRequest, ctDumpRequest, ctFlushAllRequest, ctDeleteTupleRequest } from '../../src/conntrack/client.js';
import { CTA_STATS_GLOBAL_ENTRIES, CTA_STATS_GLOBAL_MAX_ENTRIES, IPCTNL_MSG_CT_GET_STATS, NFNL_SUBSYS_CTNETLINK, nfnlType } from '../../src/conntrack/constants.js';
import { ctRequest, decodeCtEntry, encodeCtEntry, parseNfMessage, type CtEntryOut } from '../../src/conntrack/entry.js';
import { getBe32 } from '../../src/netlink/attr.js';
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR } from '../../src/netlink/constants.js';
import { parseMessages } from '../../src/netlink/message.js';
import { buildFrame, parsePacket } from '../../src/packet/index.js';
import { ConnTracker } from '../../src/userspace/conntrack.js';
import { serveCtnetlink } from '../../src/userspace/ctnetlink-service.js';

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
const entryOut: fc.Arbitrary<CtEntryOut> = fc
  .record({ src: v4, dst: v4, sp: fc.nat(0xffff), dp: fc.nat(0xffff), proto: fc.constantFrom(6, 17), zone: fc.nat(0xffff), status: fc.nat(0xffff), timeout: fc.nat(600000), mark: fc.nat(0xffffffff), labels: fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), id: fc.integer({ min: 1, max: 0xffffffff }), tcpState: fc.nat(9) })
  .map((r) => ({
    family: 2,
    orig: { family: 2, src: r.src, dst: r.dst, proto: r.proto, srcPort: r.sp, dstPort: r.dp },
    reply: { family: 2, src: r.dst, dst: r.src, proto: r.proto, srcPort: r.dp, dstPort: r.sp },
    zone: r.zone,
    status: r.status,
    timeout: r.timeout,
    tcpState: r.proto === 6 ? r.tcpState : undefined,
    mark: r.mark,
    labels: r.labels,
    id: r.id,
  }));

const labelsOf = (b?: Uint8Array): bigint => (b ? b.reduceRight((v, x) => (v << 8n) | BigInt(x), 0n) : 0n);

describe('encodeCtEntry', () => {
  it('is read back whole by decodeCtEntry', () => {
    fc.assert(
      fc.property(entryOut, (e) => {
        const d = decodeCtEntry(parseMessages(encodeCtEntry(e, 2, 7, 9))[0]);
        expect({ ...d, origTupleBytes: undefined }).toEqual({
          family: 2,
          orig: e.orig,
          reply: e.reply,
          id: e.id,
          zone: e.zone,
          status: e.status,
          timeout: e.timeout,
          mark: e.mark || undefined,
          labels: d.labels,
          tcp: e.tcpState === undefined ? undefined : { state: e.tcpState },
          use: 1,
          origTupleBytes: undefined,
        });
        expect(labelsOf(d.labels)).toBe(e.labels);
      }),
    );
  });
});

describe('serveCtnetlink', () => {
  const udp = (sport: number) => parsePacket(buildFrame({ l3: { kind: 'ipv4', src: '10.6.0.1', dst: '10.6.0.2' }, l4: { kind: 'udp', src: sport, dst: 53 }, payload: 8 }));
  const req = (bytes: Uint8Array, flags: number) => {
    const m = parseMessages(bytes)[0];
    return { ...m, flags: flags | NLM_F_REQUEST, seq: 3 };
  };
  const tracker = () => {
    const t = new ConnTracker({ now: () => 1000 });
    for (const [p, z] of [[1, 0], [2, 0], [3, 5]]) t.process(udp(p), z, { force: false });
    return t;
  };
  const dump = (t: ConnTracker) => serveCtnetlink(req(ctDumpRequest(), NLM_F_DUMP), 77, t).map((b) => parseMessages(b)[0]);

  it('dumps every entry as a multipart reply ended by DONE', () => {
    const msgs = dump(tracker());
    expect(msgs.map((m) => m.type)).toEqual([0x100, 0x100, 0x100, NLMSG_DONE]);
    const entries = msgs.slice(0, 3).map(decodeCtEntry);
    expect(entries.map((e) => [e.orig.srcPort, e.zone])).toEqual([[1, 0], [2, 0], [3, 5]]);
    expect(msgs.every((m) => m.seq === 3 && m.pid === 77)).toBe(true);
  });

  it('deletes one entry by its tuple and zone, or by its id; ENOENT when there is none', () => {
    const t = tracker();
    const [first, , third] = dump(t).slice(0, 3).map(decodeCtEntry);
    expect(parseMessages(serveCtnetlink(req(ctDeleteTupleRequest(third.orig, 0), NLM_F_ACK), 1, t)[0])[0].payload[0]).toBe(256 - 2); // -ENOENT: wrong zone
    const ok = parseMessages(serveCtnetlink(req(ctDeleteTupleRequest(third.orig, 5), NLM_F_ACK), 1, t)[0])[0];
    expect([ok.type, new DataView(ok.payload.buffer, ok.payload.byteOffset).getInt32(0, true)]).toEqual([NLMSG_ERROR, 0]);
    expect(serveCtnetlink(req(ctDeleteEntryRequest(first), NLM_F_ACK), 1, t)).toHaveLength(1);
    expect(t.size).toBe(1);
    serveCtnetlink(req(ctFlushAllRequest(), 0), 1, t);
    expect(t.size).toBe(0);
  });

  it('reports the table size and limit', () => {
    const [m] = serveCtnetlink(req(ctRequest(IPCTNL_MSG_CT_GET_STATS, 0).end(), 0), 1, tracker()).map((b) => parseMessages(b)[0]);
    expect(m.type).toBe(nfnlType(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET_STATS));
    const a = parseNfMessage(m).attrs;
    expect([getBe32(a.find((x) => x.type === CTA_STATS_GLOBAL_ENTRIES)!), getBe32(a.find((x) => x.type === CTA_STATS_GLOBAL_MAX_ENTRIES)!)]).toEqual([3, 65536]);
  });
});
