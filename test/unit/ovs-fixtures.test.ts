// Golden bytes recorded from the real kernel (scripts/record-fixtures.mjs,
// see test/fixtures/README.md): every message decodes, and re-encodes to the
// very bytes the kernel sent.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMessages, type NlMessage } from '../../src/netlink/message.js';
import { parseAttrs } from '../../src/netlink/attr.js';
import { decodeDatapathMessage, encodeDatapathMessage } from '../../src/ovs/datapath.js';
import { decodeVportMessage, encodeVportMessage } from '../../src/ovs/vport.js';
import { decodeFlowMessage, encodeFlowMessage } from '../../src/ovs/flow.js';
import { decodePacketMessage, decodeUpcall, encodePacketMessage } from '../../src/ovs/packet.js';
import { decodeMeterMessage, encodeMeterMessage } from '../../src/ovs/meter.js';
import { decodeCtLimitMessage, encodeCtLimitMessage } from '../../src/ovs/ct-limit.js';
import type { MessageHeader, OvsMessage } from '../../src/ovs/header.js';
import { formatUfid } from '../../src/ovs/ufid.js';
import { hex } from './ovs-arbitraries.js';

type Codec = { decode(m: NlMessage): OvsMessage<unknown>; encode(id: number, msg: OvsMessage<never>, hdr?: MessageHeader): Uint8Array };
const codecs: [string, Codec][] = [
  ['datapath-', { decode: decodeDatapathMessage, encode: encodeDatapathMessage }],
  ['vport-', { decode: decodeVportMessage, encode: encodeVportMessage }],
  ['flow-', { decode: decodeFlowMessage, encode: encodeFlowMessage }],
  ['upcall-', { decode: decodePacketMessage, encode: encodePacketMessage }],
  ['meter-', { decode: decodeMeterMessage, encode: encodeMeterMessage }],
  ['ct-limit-', { decode: decodeCtLimitMessage, encode: encodeCtLimitMessage }],
] as unknown as [string, Codec][];

const root = join(__dirname, '..', 'fixtures');
const kernels = readdirSync(root).filter((d) => d.startsWith('kernel-'));

/** The messages of a fixture file. */
function load(dir: string, file: string): NlMessage[] {
  const lines = readFileSync(join(root, dir, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'));
  return lines.map((l) => {
    const msgs = parseMessages(new Uint8Array(Buffer.from(l.trim(), 'hex')));
    expect(msgs).toHaveLength(1);
    return msgs[0];
  });
}

/** The bytes as our encoder writes them: the last attribute padded to 4, nlmsg_len counting the padding. */
function aligned(m: NlMessage): string {
  const len = (16 + m.payload.length + 3) & ~3;
  const out = new Uint8Array(len);
  const v = new DataView(out.buffer);
  v.setUint32(0, len, true);
  v.setUint16(4, m.type, true);
  v.setUint16(6, m.flags, true);
  v.setUint32(8, m.seq, true);
  v.setUint32(12, m.pid, true);
  out.set(m.payload, 16);
  return hex(out);
}

it('has fixtures recorded from at least one kernel', () => {
  expect(kernels.length).toBeGreaterThan(0);
});

describe.each(kernels)('fixtures of %s', (dir) => {
  const files = readdirSync(join(root, dir)).filter((f) => f.endsWith('.hex'));
  const get = (name: string): NlMessage[] => load(dir, `${name}.hex`);

  it.each(files)('%s decodes and re-encodes byte for byte', (file) => {
    const codec = codecs.find(([prefix]) => file.startsWith(prefix));
    expect(codec, `no codec for ${file}`).toBeDefined();
    const msgs = load(dir, file);
    expect(msgs.length).toBeGreaterThan(0);
    for (const m of msgs) {
      const decoded = codec![1].decode(m);
      expect(decoded.attrs).not.toHaveProperty('unknown');
      const again = codec![1].encode(m.type, decoded as OvsMessage<never>, { flags: m.flags, seq: m.seq, pid: m.pid });
      // Only the unaligned upcall ends unpadded; everything else is identical as is.
      expect(hex(again)).toBe(aligned(m));
      if (!file.includes('unaligned')) expect(hex(again).length).toBe(2 * (16 + m.payload.length));
    }
  });

  it('datapath replies carry name, stats, megaflow stats, features and cache size', () => {
    const [dp] = get('datapath-get').map(decodeDatapathMessage);
    expect(dp.attrs).toMatchObject({ name: 'ovsnl-fx', stats: { flows: 0n }, megaflowStats: { masks: 0 }, masksCacheSize: 256 });
    expect(dp.dpIfindex).toBeGreaterThan(0);
  });

  it('a vport dump has the local, internal, VXLAN (dst_port in host order) and netdev ports', () => {
    const ports = get('vport-dump').map((m) => decodeVportMessage(m).attrs);
    expect(ports.map((p) => [p.portNo, p.type, p.name])).toEqual(
      expect.arrayContaining([
        [0, 2, 'ovsnl-fx'],
        [1, 2, 'fxi'],
        [3, 1, 'fxa'],
      ]),
    );
    expect(ports.find((p) => p.type === 4)?.options).toEqual({ dstPort: 4790 });
  });

  it('a flow dump has the UFID flows with key, mask and actions, and the UFID-less one keyed alone', () => {
    const flows = get('flow-dump').map((m) => decodeFlowMessage(m).attrs);
    expect(flows).toHaveLength(3);
    const udp = flows.find((f) => f.ufid && f.ufid[0] === 2)!;
    expect(formatUfid(udp.ufid!)).toBe('ufid:13121102-1716-1514-1b1a-19181f1e1d1c');
    expect(udp.stats).toEqual({ packets: 3n, bytes: udp.stats!.bytes });
    expect(udp.actions).toHaveLength(0);
    for (const f of flows) expect(() => parseAttrs(f.key!)).not.toThrow();
    expect(flows.filter((f) => !f.ufid)).toHaveLength(1);
    const terse = get('flow-dump-terse').map((m) => decodeFlowMessage(m).attrs);
    expect(terse.filter((f) => f.ufid).every((f) => !f.key && !f.mask && !f.actions)).toBe(true);
  });

  it('an upcall decodes as a MISS carrying the ARP frame and its key', () => {
    for (const name of ['upcall-miss', 'upcall-miss-unaligned']) {
      const [m] = get(name);
      const u = decodeUpcall(m);
      expect(u.kind).toBe('miss');
      expect(hex(u.packet.subarray(12, 14))).toBe('0806');
      expect(u.packet).toHaveLength(42);
      expect(u.hash).toBeTypeOf('bigint');
    }
  });

  it('meter features, and meter and ct_limit replies', () => {
    expect(decodeMeterMessage(get('meter-features')[0]).attrs).toMatchObject({ maxBands: 1, bands: [{ type: 1 }] });
    expect(decodeMeterMessage(get('meter-get')[0]).attrs).toMatchObject({ id: 1, bands: [{ stats: { packets: 0n, bytes: 0n } }] });
    expect(decodeCtLimitMessage(get('ct-limit-get')[0]).attrs.zoneLimits).toEqual([
      { zoneId: -1, limit: 100, count: 0 },
      { zoneId: 5, limit: 3, count: 0 },
      { zoneId: 7, limit: 20, count: 0 },
    ]);
  });
});
