// The OVS families' change notifications, kernel vs fallback: the same
// requests on both datapaths, with a listener on each (dpif.events(): the
// kernel's multicast groups, or the daemon's on its socket), must announce
// the same changes in the same order: datapath, vport and flow NEW / SET /
// DEL with the requester's port id and sequence number; a vport whose
// device went away, from nobody (port id and sequence 0); and nothing for
// reads, a flow flush, a refused request or a meter.
import { describe, expect, it } from 'vitest';
import type { OvsEvent, OvsEventItem, OvsEvents } from '../../src/dpif/events.js';
import { randomUfid } from '../../src/ovs/ufid.js';
import { arpKey, deleteLink, outputActions, uniqueName, vethPair } from '../kernel/ovs-helpers.js';
import { useSides, type Side } from './harness.js';

const sides = useSides('dev');

/** What is compared of an event: its kind, the object's name (or port number), and who caused it. */
function summary(e: OvsEventItem, requester: number, names: Map<string, string>): string {
  if (e.family === 'overrun') return 'overrun';
  const o = e.object as { name?: string };
  const who = e.portId === requester ? 'us' : e.portId === 0 && e.seq === 0 ? 'nobody' : `port ${e.portId}`;
  const what = e.family === 'flow' ? '' : ` ${names.get(o.name ?? '') ?? o.name}`;
  return `${e.family} ${e.cmd}${what} by ${who}${e.seq === 0 && who === 'us' ? ' (no seq)' : ''}`;
}

async function scenario(s: Side): Promise<string[]> {
  const events: OvsEvents = await s.dpif.events();
  const seen: OvsEvent[] = [];
  const stop = events.on((e) => {
    if (e.family !== 'overrun') seen.push(e);
  });
  const dp = uniqueName(`dew${s.label[0]}`);
  const [a, aPeer] = vethPair(`dea${s.label[0]}`);
  const [c, cPeer] = vethPair(`dec${s.label[0]}`);
  try {
    const created = await s.dpif.createDatapath({ name: dp });
    await s.dpif.getDatapath(dp);
    await s.dpif.setDatapath(dp, { masksCacheSize: 512 });
    await s.dpif.createVport(dp, { name: a, type: 'netdev' });
    await s.dpif.setVport(dp, a, { upcallPids: [0] });
    await s.dpif.deleteVport(dp, a);
    const ufid = randomUfid();
    const key = arpKey({ inPort: 1, sip: '10.93.0.1' });
    await s.dpif.putFlow(dp, { key, ufid, actions: outputActions(2) });
    await s.dpif.putFlow(dp, { key, ufid, actions: outputActions(3), mode: 'modify' });
    await expect(s.dpif.putFlow(dp, { key, ufid, actions: outputActions(2), mode: 'create' })).rejects.toMatchObject({ code: 'EEXIST' });
    await s.dpif.deleteFlow(dp, { ufid });
    await s.dpif.putFlow(dp, { key, ufid, actions: outputActions(2) });
    await s.dpif.flushFlows(dp);
    await s.dpif.setMeter(dp, { id: 3, bands: [{ rate: 1000, burst: 100 }] });
    await s.dpif.deleteMeter(dp, 3);
    const vc = await s.dpif.createVport(dp, { name: c, type: 'netdev' });
    const gone = events.next((e) => e.family === 'vport' && e.cmd === 'del' && e.object.portNo === vc.portNo, 10_000);
    deleteLink(c);
    await gone.catch((err: Error) => Promise.reject(new Error(`${s.label}: no vport DEL for a vanished device (${err.message}); saw ${seen.map((e) => `${e.family} ${e.cmd}`).join(', ')}`)));
    // Waited for from before the request: the notification may come before the reply.
    const deleted = events.next((e) => e.family === 'datapath' && e.cmd === 'del' && e.dpIfindex === created.dpIfindex);
    await s.dpif.deleteDatapath(dp);
    await deleted.catch((err: Error) => Promise.reject(new Error(`${s.label}: no datapath DEL (${err.message})`)));
  } finally {
    stop();
    events.close();
    deleteLink(a);
    deleteLink(aPeer);
    deleteLink(cPeer);
    await s.dpif.deleteDatapath(dp).catch(() => undefined);
  }
  const names = new Map([
    [dp, 'DP'],
    [a, 'A'],
    [c, 'C'],
  ]);
  return seen.filter((e) => e.family !== 'datapath' || (e.object as { name?: string }).name === dp).map((e) => summary(e, s.dpif.conn.portId, names));
}

describe('change notifications, kernel vs fallback', () => {
  it('announce the same changes, from the same requesters, in the same order', async () => {
    const k = await scenario(sides[0]);
    const u = await scenario(sides[1]);
    expect(k).toEqual([
      'datapath new DP by us',
      'datapath set DP by us',
      'vport new A by us',
      'vport set A by us',
      'vport del A by us',
      'flow new by us',
      'flow set by us',
      'flow del by us',
      'flow new by us',
      'vport new C by us',
      'vport del C by nobody',
      'datapath del DP by us',
    ]);
    expect(u).toEqual(k);
  }, 60_000);
});
