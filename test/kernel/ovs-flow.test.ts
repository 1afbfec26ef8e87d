// ovs_flow on the real module: create / modify / upsert, get, dump (full and
// terse), delete, flush, batches, masks, and the kernel's refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import type { Flow } from '../../src/dpif/dpif.js';
import { parseAttrs } from '../../src/netlink/attr.js';
import { formatUfid, randomUfid, ufidFromWords, ufidWords } from '../../src/ovs/ufid.js';
import { OVS_UFID_F_OMIT_ACTIONS, OVS_UFID_F_OMIT_KEY, OVS_UFID_F_OMIT_MASK } from '../../src/ovs/uapi.js';
import { requireOvsModule } from './setup.js';
import {
  KEY_ARP,
  KEY_ETHERNET,
  KEY_ETHERTYPE,
  KEY_IN_PORT,
  KEY_IPV4,
  KEY_UDP,
  anyArpMask,
  arpKey,
  attrOf,
  dropDatapath,
  openDpif,
  outputActions,
  udpKey,
  udpKeyWithoutL4,
  uniqueName,
} from './ovs-helpers.js';

const hex = (b: Uint8Array | undefined): string | undefined => (b ? Buffer.from(b).toString('hex') : undefined);

async function collect(it: AsyncIterable<Flow>): Promise<Flow[]> {
  const out: Flow[] = [];
  for await (const f of it) out.push(f);
  return out;
}

describe('ovs_flow', () => {
  let dpif: KernelDpif;
  const dp = uniqueName('ovsfl');
  const ufid = randomUfid();
  const key = arpKey({ inPort: 1, sip: '10.1.0.1', tip: '10.1.0.2' });

  beforeAll(async () => {
    requireOvsModule();
    dpif = await openDpif();
    await dpif.createDatapath({ name: dp });
  });
  afterAll(async () => {
    await dropDatapath(dpif, dp);
    dpif.close();
  });

  it('creates an exact-match ARP flow, and gets it back by UFID', async () => {
    expect(await dpif.putFlow(dp, { key, actions: outputActions(2), ufid })).toBeUndefined();
    const f = await dpif.getFlow(dp, { ufid });
    expect(hex(f.ufid)).toBe(hex(ufid));
    for (const t of [KEY_IN_PORT, KEY_ETHERNET, KEY_ETHERTYPE, KEY_ARP]) expect(hex(attrOf(f.key, t)?.data)).toBe(hex(attrOf(key, t)?.data));
    // No mask given: every bit is significant, except where the kernel
    // keeps less: the ARP op is a u8 inside (mask 0x00ff), and the struct's
    // two padding bytes are not part of the key.
    expect(hex(attrOf(f.mask, KEY_ARP)?.data)).toBe('ff'.repeat(8) + '00ff' + 'ff'.repeat(12) + '0000');
    expect(hex(attrOf(f.mask, KEY_IN_PORT)?.data)).toBe('ffffffff');
    expect(hex(f.actions)).toBe(hex(outputActions(2)));
    // A flow that saw no packet carries no stats, used or tcp_flags.
    expect(f.stats).toBeUndefined();
    expect(f.used).toBeUndefined();
  });

  it('refuses to create it twice (EEXIST)', async () => {
    const err = await dpif.putFlow(dp, { key, actions: outputActions(2), ufid }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EEXIST', operation: `flow new ${formatUfid(ufid)}` });
  });

  it('does not find a flow created with a UFID by its key (the kernel looks keys up among UFID-less flows only)', async () => {
    await expect(dpif.getFlow(dp, { key })).rejects.toMatchObject({ code: 'ENOENT', operation: 'flow get' });
    await expect(dpif.deleteFlow(dp, { key })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('modifies its actions, with the new flow echoed back', async () => {
    const f = await dpif.putFlow(dp, { key, ufid, actions: outputActions(3, 4), mode: 'modify', echo: true });
    expect(hex(f?.actions)).toBe(hex(outputActions(3, 4)));
    expect(hex((await dpif.getFlow(dp, { ufid })).actions)).toBe(hex(outputActions(3, 4)));
  });

  it('refuses to modify a flow that does not exist (ENOENT)', async () => {
    const other = arpKey({ inPort: 1, sip: '10.9.9.9' });
    await expect(dpif.putFlow(dp, { key: other, ufid: randomUfid(), actions: outputActions(2), mode: 'modify' })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('upserts: replaces the actions of an existing flow, creates a missing one', async () => {
    await dpif.putFlow(dp, { key, ufid, actions: new Uint8Array(0), mode: 'upsert' });
    expect((await dpif.getFlow(dp, { ufid })).actions?.length).toBe(0);
    const u2 = randomUfid();
    await dpif.putFlow(dp, { key: arpKey({ inPort: 2 }), ufid: u2, actions: outputActions(1), mode: 'upsert' });
    expect((await dpif.getFlow(dp, { ufid: u2 })).key).toBeDefined();
    await dpif.deleteFlow(dp, { ufid: u2 });
  });

  it('refuses a key that lacks an attribute the kernel expects (EINVAL), quietly with probe', async () => {
    await expect(dpif.putFlow(dp, { key: udpKeyWithoutL4(1), actions: outputActions(2) })).rejects.toMatchObject({ code: 'EINVAL', operation: 'flow new' });
    await expect(dpif.putFlow(dp, { key: udpKeyWithoutL4(1), actions: outputActions(2), probe: true })).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('installs a UDP flow with a mask and returns the mask', async () => {
    const u = randomUfid();
    const k = udpKey({ inPort: 5, src: '10.2.3.4', dst: '10.5.6.7', sport: 1000, dport: 53 });
    // in_port and eth_type exact (the kernel insists), ipv4 src /16 and proto, udp dst port only.
    const { AttrWriter } = await import('../../src/netlink/attr.js');
    const w = new AttrWriter();
    w.u32(KEY_IN_PORT, 0xffffffff);
    w.bytes(KEY_ETHERNET, new Uint8Array(12));
    w.be16(KEY_ETHERTYPE, 0xffff);
    w.bytes(KEY_IPV4, new Uint8Array([255, 255, 0, 0, 0, 0, 0, 0, 255, 0, 0, 0]));
    w.bytes(KEY_UDP, new Uint8Array([0, 0, 255, 255]));
    const mask = w.finish().slice();
    await dpif.putFlow(dp, { key: k, mask, ufid: u, actions: outputActions(1) });
    const f = await dpif.getFlow(dp, { ufid: u });
    expect(hex(attrOf(f.mask, KEY_IPV4)?.data)).toBe('ffff000000000000ff000000');
    expect(hex(attrOf(f.mask, KEY_UDP)?.data)).toBe('0000ffff');
    // The key comes back masked: the wildcarded halves are zero.
    expect(hex(attrOf(f.key, KEY_IPV4)?.data)).toBe('0a02000000000000' + '11000000');
    await dpif.deleteFlow(dp, { ufid: u });
  });

  it('dumps flows, and leaves out key, mask and actions when asked', async () => {
    const wildcard = randomUfid();
    await dpif.putFlow(dp, { key: arpKey({ inPort: 7 }), mask: anyArpMask(), ufid: wildcard, actions: outputActions(1) });
    const full = await collect(dpif.dumpFlows(dp));
    expect(full.map((f) => formatUfid(f.ufid!)).sort()).toEqual([formatUfid(ufid), formatUfid(wildcard)].sort());
    for (const f of full) expect(f.key && f.mask && f.actions).toBeDefined();
    const terse = await collect(dpif.dumpFlows(dp, { ufidFlags: OVS_UFID_F_OMIT_KEY | OVS_UFID_F_OMIT_MASK | OVS_UFID_F_OMIT_ACTIONS }));
    expect(terse).toHaveLength(2);
    for (const f of terse) {
      expect(f.ufid).toBeDefined();
      expect(f.key ?? f.mask ?? f.actions).toBeUndefined();
    }
    await dpif.deleteFlow(dp, { ufid: wildcard });
  });

  it('deletes a flow by UFID, with its last stats; a second delete is ENOENT', async () => {
    const f = await dpif.deleteFlow(dp, { ufid });
    expect(hex(f.ufid)).toBe(hex(ufid));
    expect(f.key).toBeDefined();
    await expect(dpif.getFlow(dp, { ufid })).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(dpif.deleteFlow(dp, { ufid })).rejects.toMatchObject({ code: 'ENOENT', operation: `flow del ${formatUfid(ufid)}` });
  });

  it('deletes a flow installed without a UFID by its key', async () => {
    const k = arpKey({ inPort: 9 });
    await dpif.putFlow(dp, { key: k, actions: outputActions(1) });
    const [f] = await collect(dpif.dumpFlows(dp));
    expect(f.ufid).toBeUndefined();
    expect(hex((await dpif.getFlow(dp, { key: k })).actions)).toBe(hex(outputActions(1)));
    expect(hex(attrOf(f.key, KEY_ARP)?.data)).toBe(hex(attrOf(k, KEY_ARP)?.data));
    await dpif.deleteFlow(dp, { key: k });
    expect(await collect(dpif.dumpFlows(dp))).toHaveLength(0);
  });

  it('installs 2000 flows in one pipelined batch, dumps them all, and flushes', async () => {
    const flows = Array.from({ length: 2000 }, (_, i) => ({
      key: udpKey({ inPort: 1, src: `10.3.${i >> 8}.${i & 0xff}`, dst: '10.4.0.1', sport: 1000 + i, dport: 53 }),
      ufid: ufidFromWords([0x5eed, i, 0, 0]),
      actions: outputActions(2),
    }));
    // One duplicate in the batch: it fails alone.
    flows.push({ ...flows[17] });
    const received = dpif.conn.stats.received;
    const results = await dpif.putFlows(dp, flows);
    expect(results.filter((r) => r.ok)).toHaveLength(2000);
    expect(results[2000]).toMatchObject({ ok: false, error: { code: 'EEXIST' } });
    // Puts without an echo go out in groups of 256 with one ACK each
    // (requestGroup): 8 answers for 2001 puts, not 2001. The duplicate is the
    // last group's last put, so its EEXIST is that group's answer.
    expect(dpif.conn.stats.received - received).toBe(Math.ceil(2001 / 256));
    const dumped = await collect(dpif.dumpFlows(dp, { ufidFlags: OVS_UFID_F_OMIT_KEY | OVS_UFID_F_OMIT_MASK | OVS_UFID_F_OMIT_ACTIONS }));
    expect(new Set(dumped.map((f) => ufidWords(f.ufid!)[1])).size).toBe(2000);
    expect((await dpif.getDatapath(dp)).stats?.flows).toBe(2000n);
    await dpif.flushFlows(dp);
    expect(await collect(dpif.dumpFlows(dp))).toHaveLength(0);
    expect((await dpif.getDatapath(dp)).stats?.flows).toBe(0n);
  });

  it('deletes many flows with one ACK; a missing one fails alone with ENOENT, naming its UFID', async () => {
    const ids = Array.from({ length: 300 }, (_, i) => ufidFromWords([0xde1, i, 0, 0]));
    const put = await dpif.putFlows(
      dp,
      ids.map((ufid, i) => ({ key: udpKey({ inPort: 1, src: `10.5.${i >> 8}.${i & 0xff}`, dst: '10.4.0.1', sport: 2000 + i, dport: 53 }), ufid, actions: outputActions(2) })),
    );
    expect(put.every((r) => r.ok)).toBe(true);
    const missing = ufidFromWords([0xde1, 9999, 0, 0]);
    const received = dpif.conn.stats.received;
    const out = await dpif.deleteFlows(dp, [...ids.slice(0, 150).map((ufid) => ({ ufid })), { ufid: missing }, {}, ...ids.slice(150).map((ufid) => ({ ufid }))], { stats: false });
    expect(out).toHaveLength(302);
    expect(out[150]).toMatchObject({ code: 'ENOENT', operation: `flow del ${formatUfid(missing)}` });
    expect(out[151]).toBeInstanceOf(TypeError);
    expect(out.filter((r) => !(r instanceof Error))).toHaveLength(300);
    // The ENOENT and one ACK: nothing for the 300 that went.
    expect(dpif.conn.stats.received - received).toBe(2);
    expect(await collect(dpif.dumpFlows(dp))).toHaveLength(0);
  });

  it('refuses flow requests on a datapath that does not exist (ENODEV)', async () => {
    await expect(dpif.putFlow(0x7ffffff0, { key, actions: outputActions(1) })).rejects.toMatchObject({ code: 'ENODEV' });
  });

  it('parses the keys the kernel sends as well-formed attribute streams', async () => {
    await dpif.putFlow(dp, { key, ufid, actions: outputActions(2) });
    const f = await dpif.getFlow(dp, { ufid });
    expect(() => parseAttrs(f.key!)).not.toThrow();
    expect(() => parseAttrs(f.mask!)).not.toThrow();
    await dpif.flushFlows(dp);
  });
});
