// The OVS families' multicast notifications on the real module, as typed
// events: which changes the kernel announces (and which it does not), from
// ovsnl and from the real ovs-dpctl, and what happens when a listener's
// receive buffer overflows.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import { OvsEvents, type OvsEvent, type OvsEventItem } from '../../src/dpif/events.js';
import { formatUfid, randomUfid, ufidFromWords } from '../../src/ovs/ufid.js';
import { dpctl } from './peer.js';
import { requireOvsModule } from './setup.js';
import { arpKey, deleteLink, dropDatapath, openDpif, outputActions, udpKey, uniqueName, vethPair } from './ovs-helpers.js';

/** Collects every event from now on. */
function recorder(events: OvsEvents): { items: OvsEventItem[]; stop: () => void } {
  const items: OvsEventItem[] = [];
  return { items, stop: events.on((e) => items.push(e)) };
}

const describeEvent = (e: OvsEventItem): string => (e.family === 'overrun' ? 'overrun' : `${e.family} ${e.cmd}`);

describe('OVS notifications as events', () => {
  let dpif: KernelDpif;
  let events: OvsEvents;
  const dp = uniqueName('ovsev');
  let dpIfindex = 0;

  /** Makes a datapath change and waits for its event: everything before it has been delivered. */
  async function barrier(): Promise<void> {
    const seen = events.next((e) => e.family === 'datapath' && e.cmd === 'set' && e.object.name === dp);
    await dpif.setDatapath(dp, {});
    await seen;
  }

  beforeAll(async () => {
    requireOvsModule();
    dpif = await openDpif();
    events = await dpif.events();
  });
  afterAll(async () => {
    await dropDatapath(dpif, dp);
    events.close();
    dpif.close();
  });

  it('joins the four groups the families declare', () => {
    expect([...events.joined.keys()].sort()).toEqual(['datapath', 'flow', 'meter', 'vport']);
  });

  it('announces a datapath created by ovsnl, with the requester and the object', async () => {
    const seen = events.next((e) => e.family === 'datapath' && e.object.name === dp);
    const created = await dpif.createDatapath({ name: dp });
    dpIfindex = created.dpIfindex;
    const e = await seen;
    expect(e).toMatchObject({ family: 'datapath', cmd: 'new', dpIfindex, portId: dpif.conn.portId });
    expect(e.seq).toBeGreaterThan(0);
    expect(e.object).toMatchObject({ name: dp, dpIfindex, userFeatures: created.userFeatures });
  });

  it('announces datapath SETs, and nothing for reads', async () => {
    const r = recorder(events);
    await dpif.getDatapath(dp);
    await dpif.listDatapaths();
    await dpif.listVports(dp);
    for await (const f of dpif.dumpFlows(dp)) void f;
    await dpif.setDatapath(dp, { masksCacheSize: 512 });
    await events.next((e) => e.family === 'datapath' && e.cmd === 'set' && e.object.masksCacheSize === 512);
    r.stop();
    expect(r.items.map(describeEvent)).toEqual(['datapath set']);
  });

  it('announces vports added, set and deleted; and a vport whose netdev vanished, from the kernel itself', async () => {
    const [a, b] = vethPair('ev');
    const [c] = vethPair('ew');
    try {
      const r = recorder(events);
      const va = await dpif.createVport(dp, { name: a, type: 'netdev' });
      await dpif.setVport(dp, a, { upcallPids: [0] });
      await dpif.deleteVport(dp, a);
      const vc = await dpif.createVport(dp, { name: c, type: 'netdev' });
      const gone = events.next((e) => e.family === 'vport' && e.cmd === 'del' && e.object.name === c);
      deleteLink(c);
      const e = await gone;
      r.stop();
      expect(r.items.flatMap((x) => (x.family === 'vport' ? [[describeEvent(x), x.object.name]] : []))).toEqual([
        ['vport new', a],
        ['vport set', a],
        ['vport del', a],
        ['vport new', c],
        ['vport del', c],
      ]);
      expect(e).toMatchObject({ portId: 0, seq: 0, dpIfindex, object: { portNo: vc.portNo } });
      expect(va.name).toBe(a);
    } finally {
      deleteLink(a);
      deleteLink(b);
      deleteLink(c);
    }
  });

  it('announces flows put, modified and deleted through ovsnl, not a flush', async () => {
    const ufid = randomUfid();
    const key = arpKey({ inPort: 1, sip: '10.9.0.1' });
    const r = recorder(events);
    await dpif.putFlow(dp, { key, ufid, actions: outputActions(2) });
    await dpif.putFlow(dp, { key, ufid, actions: outputActions(3), mode: 'modify' });
    await dpif.deleteFlow(dp, { ufid });
    await dpif.putFlow(dp, { key, ufid, actions: outputActions(2) });
    await dpif.flushFlows(dp);
    await barrier();
    r.stop();
    const flows = r.items.filter((x): x is OvsEvent => x.family === 'flow');
    expect(flows.map(describeEvent)).toEqual(['flow new', 'flow set', 'flow del', 'flow new']);
    for (const f of flows) expect(f.family === 'flow' && formatUfid(f.object.ufid!)).toBe(formatUfid(ufid));
    expect(flows[1].family === 'flow' && Buffer.from(flows[1].object.actions!).equals(Buffer.from(outputActions(3)))).toBe(true);
  });

  it('announces nothing for a request the kernel refused', async () => {
    const key = arpKey({ inPort: 1, sip: '10.9.0.2' });
    const ufid = randomUfid();
    // A request's notification may be read after its ACK: wait for it before recording.
    const added = events.next((e) => e.family === 'flow' && e.cmd === 'new');
    await dpif.putFlow(dp, { key, ufid, actions: outputActions(2) });
    await added;
    const r = recorder(events);
    await expect(dpif.putFlow(dp, { key, ufid, actions: outputActions(2) })).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(dpif.deleteVport(dp, 'ovsnl-novport')).rejects.toMatchObject({ code: 'ENODEV' });
    await barrier();
    r.stop();
    expect(r.items.map(describeEvent)).toEqual(['datapath set']);
    await dpif.flushFlows(dp);
  });

  it("sees the real ovs-dpctl's changes, made from another socket", async () => {
    const r = recorder(events);
    const text = 'ufid:0e0e0e0e-1111-2222-3333-444455556666';
    dpctl('add-flow', dp, `${text},in_port(1),eth(),eth_type(0x0800),ipv4(src=10.8.0.1,frag=no)`, '2');
    const added = await events.next((e) => e.family === 'flow' && e.cmd === 'new');
    dpctl('del-flow', dp, text);
    await events.next((e) => e.family === 'flow' && e.cmd === 'del');
    r.stop();
    expect(added.family === 'flow' && formatUfid(added.object.ufid!)).toBe(text);
    expect(added.portId).not.toBe(dpif.conn.portId);
    // Opening the datapath, ovs-dpctl re-sets its user features: announced too.
    expect(r.items.map(describeEvent)).toContain('datapath set');
  });

  it('sends nothing to the meter group: meter changes are not announced', async () => {
    const r = recorder(events);
    await dpif.setMeter(dp, { id: 7, bands: [{ rate: 1000, burst: 100 }] });
    await dpif.setMeter(dp, { id: 7, bands: [{ rate: 2000, burst: 100 }] });
    await dpif.deleteMeter(dp, 7);
    await barrier();
    r.stop();
    expect(r.items.map(describeEvent)).toEqual(['datapath set']);
  });

  it('serves several consumers: an async iterator and a listener see the same events', async () => {
    const r = recorder(events);
    const got: string[] = [];
    const consumer = (async () => {
      for await (const e of events) {
        got.push(describeEvent(e));
        if (e.family === 'datapath' && e.cmd === 'del') break;
      }
    })();
    const other = uniqueName('ovsew');
    await dpif.createDatapath({ name: other });
    await dpif.deleteDatapath(other);
    await consumer;
    r.stop();
    expect(got).toEqual(['datapath new', 'datapath del']);
    expect(r.items.map(describeEvent)).toEqual(got);
  });

  it('announces a datapath deleted by ovs-dpctl, without its flows or ports', async () => {
    const other = uniqueName('ovsex');
    dpctl('add-dp', other);
    await dpif.putFlow(other, { key: arpKey({ inPort: 1 }), ufid: randomUfid(), actions: outputActions(2) });
    const r = recorder(events);
    dpctl('del-dp', other);
    const e = await events.next((x) => x.family === 'datapath' && x.cmd === 'del' && x.object.name === other);
    await barrier();
    r.stop();
    expect(e.portId).not.toBe(dpif.conn.portId);
    // (ovs-dpctl opens the datapath before deleting it, which re-sets its features: a 'set' first.)
    expect(r.items.filter((x) => x.family === 'flow' || x.family === 'vport')).toEqual([]);
  });
});

describe('OVS notifications: overruns', () => {
  let dpif: KernelDpif;
  let events: OvsEvents | undefined;
  const dp = uniqueName('ovsov');

  beforeAll(async () => {
    requireOvsModule();
    dpif = await openDpif();
    await dpif.createDatapath({ name: dp });
  });
  afterEach(() => events?.close());
  afterAll(async () => {
    await dropDatapath(dpif, dp);
    dpif.close();
  });

  it('reports an overrun when the receive buffer overflows, and keeps going', async () => {
    // The smallest buffer the kernel allows holds a handful of flow notifications.
    events = await dpif.events({ groups: ['flow', 'datapath'], receiveBufferBytes: 1 });
    const got: OvsEventItem[] = [];
    const stop = events.on((e) => got.push(e));
    const flows = Array.from({ length: 2000 }, (_, i) => ({
      key: udpKey({ inPort: 1, src: `10.6.${i >> 8}.${i & 0xff}`, dst: '10.4.0.1', sport: 1000, dport: 53 }),
      ufid: ufidFromWords([0x0e0e, i, 0, 0]),
      actions: outputActions(2),
    }));
    const results = await dpif.putFlows(dp, flows);
    expect(results.every((r) => r.ok)).toBe(true);
    const later = events.next((e) => e.family === 'datapath' && e.cmd === 'set');
    await dpif.setDatapath(dp, {});
    await later;
    stop();
    expect(events.stats.overruns).toBeGreaterThan(0);
    expect(got.some((e) => e.family === 'overrun')).toBe(true);
    const seen = got.filter((e) => e.family === 'flow').length;
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThan(2000);
    await dpif.flushFlows(dp);
  });

  it('tells an iterator that falls behind that it lost events', async () => {
    events = await dpif.events({ groups: ['datapath'], maxQueued: 2 });
    const it = events[Symbol.asyncIterator]();
    for (let i = 0; i < 5; i++) await dpif.setDatapath(dp, {});
    await new Promise((r) => setTimeout(r, 200));
    const items: string[] = [];
    for (let i = 0; i < 3; i++) items.push(describeEvent((await it.next()).value as OvsEventItem));
    expect(items).toEqual(['datapath set', 'datapath set', 'overrun']);
    expect(events.stats.dropped).toBe(3);
    events.close();
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });
});
