// upcall-monitor's and top's pure pieces: the pcap writer byte for byte
// (fields as libpcap's savefile.c reads them; tshark reads the file in
// test/kernel/cli-monitor.test.ts), the upcall line and JSON, top's rates,
// ordering and table, and the option parsing of both.
import { describe, expect, it } from 'vitest';
import { pcapFileHeader, pcapRecord, PCAP_SNAPLEN } from '../../src/cli/pcap.js';
import { formatUpcall, upcallJson } from '../../src/cli/upcall-text.js';
import { countersOf, flowRates, formatTopTable, parseSort, topJson, type FlowSample } from '../../src/cli/top-rates.js';
import { parseCount, parseInterval } from '../../src/cli/live.js';
import { actionBytes, keyBytes } from '../../src/cli/flow-text.js';
import { parseOdpActions, parseOdpFlow } from '../../src/odp/index.js';
import type { Upcall } from '../../src/ovs/packet.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('pcap writer', () => {
  it('writes the classic little-endian file header for Ethernet', () => {
    expect(hex(pcapFileHeader())).toBe(
      'd4c3b2a1' + // magic a1b2c3d4, little-endian: microsecond timestamps
        '0200' + // version major 2
        '0400' + // version minor 4
        '00000000' + // thiszone: UTC
        '00000000' + // sigfigs
        '00000400' + // snaplen 262144
        '01000000', // LINKTYPE_ETHERNET
    );
    expect(hex(pcapFileHeader({ snaplen: 65535, linktype: 253 }).subarray(16))).toBe('ffff0000' + 'fd000000');
  });

  it('writes a record: seconds, microseconds, captured and original length, frame', () => {
    const frame = Uint8Array.from([1, 2, 3, 4, 5]);
    // 2026-11-22T07:00:00.123456Z
    const t = 1_795_330_800_123_456n;
    expect(hex(pcapRecord({ timeMicros: t, frame }))).toBe(
      'f092026b' + // ts_sec 1795330800 = 0x6b0292f0
        '40e20100' + // ts_usec 123456 = 0x01e240
        '05000000' + // incl_len 5
        '05000000' + // orig_len 5
        '0102030405',
    );
    // A frame a trunc action cut: the wire length stays in orig_len.
    expect(hex(pcapRecord({ timeMicros: 0n, frame, origLen: 1514 }).subarray(8, 16))).toBe('05000000' + 'ea050000');
  });

  it('cuts frames longer than the snaplen and keeps their length', () => {
    const frame = new Uint8Array(PCAP_SNAPLEN + 10).fill(7);
    const r = pcapRecord({ timeMicros: 1n, frame });
    expect(r.length).toBe(16 + PCAP_SNAPLEN);
    const v = new DataView(r.buffer);
    expect([v.getUint32(4, true), v.getUint32(8, true), v.getUint32(12, true)]).toEqual([1, PCAP_SNAPLEN, PCAP_SNAPLEN + 10]);
    expect(() => pcapRecord({ timeMicros: -1n, frame })).toThrow(RangeError);
  });
});

const KEY =
  'recirc_id(0),dp_hash(0),skb_priority(0),in_port(1),skb_mark(0),ct_state(0),ct_zone(0),ct_mark(0),ct_label(0),' +
  'eth(src=02:77:00:00:00:01,dst=02:77:00:00:00:02),eth_type(0x0800),ipv4(src=10.77.0.1,dst=10.77.0.2,proto=1,tos=0,ttl=64,frag=no),icmp(type=8,code=0)';

function upcall(extra: Partial<Upcall> = {}): Upcall {
  return { kind: 'miss', dpIfindex: 5, packet: new Uint8Array(98), key: keyBytes(parseOdpFlow(KEY).key), ...extra };
}

describe('upcall text', () => {
  it('prints a MISS as its kind, the whole key in ODP text and the packet length', () => {
    expect(formatUpcall(upcall())).toBe(`miss: ${KEY} len=98`);
    expect(formatUpcall(upcall(), { portNames: new Map([[1, 'veth1']]) })).toBe(`miss: ${KEY.replace('in_port(1)', 'in_port(veth1)')} len=98`);
  });

  it('adds what an ACTION upcall carries: original length, userdata, actions, hash', () => {
    const u = upcall({ kind: 'action', packet: new Uint8Array(60), len: 1514, userdata: Uint8Array.from([1, 2, 0xab]), actions: actionBytes(parseOdpActions('2,3')), hash: 0x1234n, mru: 1500 });
    expect(formatUpcall(u)).toBe(`action: ${KEY} len=60 orig_len=1514 mru=1500 hash=0x1234 userdata=0102ab actions=2,3`);
  });

  it('shows bytes that do not decode as hex instead of failing', () => {
    expect(formatUpcall(upcall({ key: Uint8Array.from([8, 0, 3, 0, 1]) }))).toBe('miss: key_hex(0800030001) len=98');
  });

  it('has a JSON form with every field, null where absent', () => {
    const packet = Uint8Array.from([0xde, 0xad]);
    expect(upcallJson(upcall({ packet }), 'system@dp1', new Date(Date.UTC(2026, 10, 22, 7, 0, 0, 5)))).toEqual({
      event: 'upcall',
      kind: 'miss',
      time: '2026-11-22T07:00:00.005Z',
      datapath: 'system@dp1',
      key: KEY,
      packet_len: 2,
      orig_len: null,
      packet: 'dead',
      mru: null,
      hash: null,
      userdata: null,
      actions: null,
      egress_tun_key: null,
    });
  });
});

const flow = (id: string, packets: number, bytes: number): FlowSample => ({ id, packets: BigInt(packets), bytes: BigInt(bytes), ufid: null, key: `in_port(${id})`, actions: '1' });

describe('top rates', () => {
  it('computes rates from successive dumps, new and reset flows counting from zero', () => {
    const before = countersOf([flow('a', 100, 10_000), flow('b', 50, 50_000), flow('c', 40, 4_000)]);
    const now = [flow('a', 300, 30_000), flow('b', 60, 80_000), flow('c', 10, 1_000), flow('d', 20, 20_000)];
    const rows = flowRates(now, before, 2000, 'packets');
    expect(rows.map((r) => [r.id, r.packetRate, r.byteRate])).toEqual([
      ['a', 100, 10_000],
      ['d', 10, 10_000],
      ['b', 5, 15_000],
      ['c', 5, 500],
    ]);
    expect(flowRates(now, before, 2000, 'bytes').map((r) => r.id)).toEqual(['b', 'a', 'd', 'c']);
  });

  it('orders idle flows by their totals, then by key', () => {
    const s = [flow('x', 5, 10), flow('y', 9, 5), flow('w', 5, 10)];
    expect(flowRates(s, countersOf(s), 1000, 'packets').map((r) => r.id)).toEqual(['y', 'w', 'x']);
    expect(flowRates(s, countersOf(s), 1000, 'bytes').map((r) => r.id)).toEqual(['w', 'x', 'y']);
  });

  it('prints a table, cut to the rows and width of a terminal when asked', () => {
    const rows = flowRates([flow('1', 30, 2940), flow('2', 3, 294)], new Map(), 1000, 'packets');
    const o = { datapath: 'system@dp', sort: 'packets' as const, ms: 1000, time: new Date(Date.UTC(2026, 0, 1, 9, 8, 7)) };
    expect(formatTopTable(rows, o)).toBe(
      'system@dp: 2 flows, over 1.00 s, by packets/s, at 09:08:07 UTC\n' +
        '    PKTS/S      BYTES/S      PACKETS          BYTES  FLOW\n' +
        '      30.0       2940.0           30           2940  in_port(1), actions:1\n' +
        '       3.0        294.0            3            294  in_port(2), actions:1\n',
    );
    const cut = formatTopTable(rows, { ...o, maxRows: 1, width: 30 }).split('\n');
    expect(cut.slice(2)).toEqual(['      30.0       2940.0      …', '(1 more)', '']);
    expect(topJson(rows.slice(0, 1), o)).toEqual({
      event: 'top',
      time: '2026-01-01T09:08:07.000Z',
      datapath: 'system@dp',
      interval_ms: 1000,
      sort: 'packets',
      flows: [{ ufid: null, key: 'in_port(1)', actions: '1', packets: 30, bytes: 2940, packets_per_sec: 30, bytes_per_sec: 2940 }],
    });
  });

  it('parses its options', () => {
    expect([parseSort(undefined), parseSort('bytes')]).toEqual(['packets', 'bytes']);
    expect(() => parseSort('flows')).toThrow(/not packets or bytes/);
    expect([parseCount(undefined), parseCount('3')]).toEqual([undefined, 3]);
    for (const bad of ['0', '-1', '1.5', 'x']) expect(() => parseCount(bad)).toThrow(/positive integer/);
    expect([parseInterval(undefined, 1), parseInterval('0.25', 1), parseInterval('2', 1)]).toEqual([1000, 250, 2000]);
    for (const bad of ['0', '-1', 'x', '1e3']) expect(() => parseInterval(bad, 1)).toThrow(/seconds/);
  });
});
