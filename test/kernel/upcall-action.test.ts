// ACTION upcalls and the way back: a flow whose userspace action carries
// userdata sends matching packets up as ACTION upcalls (to the action's pid,
// or per CPU); a MISS upcall's packet executed with an output action leaves
// on the other ports, byte for byte. The executing handler runs in the batch
// callback, copying what it hands to the asynchronous execute.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AttrWriter, parseAttrs } from '../../src/netlink/attr.js';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import { copyUpcall, openUpcalls, type Upcalls } from '../../src/dpif/upcalls.js';
import type { Upcall } from '../../src/ovs/packet.js';
import { randomUfid } from '../../src/ovs/ufid.js';
import { requireOvsModule } from './setup.js';
import { KEY_ETHERNET, KEY_ETHERTYPE, KEY_IN_PORT, KEY_IPV4, KEY_UDP, openDpif, outputActions, udpKey, waitFor } from './ovs-helpers.js';
import { ACTION_USERSPACE, FrameTap, hasTag, inPortOf, tagged, topology, udpFrame, userspaceAction, type Topology } from './upcall-helpers.js';

let dpif: KernelDpif;
let topo: Topology;
let fromA: FrameTap;
let atB: FrameTap;
let atInternal: FrameTap;
let open: Upcalls | undefined;

beforeAll(async () => {
  requireOvsModule();
  dpif = await openDpif();
  topo = await topology(dpif, 'upa');
  fromA = new FrameTap(topo.aPeer);
  atB = new FrameTap(topo.bPeer);
  atInternal = new FrameTap(topo.internal);
});
afterEach(async () => {
  await open?.close();
  open = undefined;
  await dpif.flushFlows(topo.dp);
});
afterAll(async () => {
  for (const t of [fromA, atB, atInternal]) t?.close();
  await topo?.remove();
  dpif?.close();
});

/** Matches IPv4/UDP to `dport` from `inPort`, everything else wildcarded. */
function udpToPortMask(): Uint8Array {
  const w = new AttrWriter();
  w.u32(KEY_IN_PORT, 0xffffffff);
  w.bytes(KEY_ETHERNET, new Uint8Array(12));
  w.be16(KEY_ETHERTYPE, 0xffff);
  w.bytes(KEY_IPV4, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0]));
  w.bytes(KEY_UDP, new Uint8Array([0, 0, 0xff, 0xff]));
  return w.finish().slice();
}

describe.each(['per-vport', 'per-cpu'] as const)('%s dispatch', (mode) => {
  it('a userspace action sends ACTION upcalls with its userdata, the key and the flow actions', async () => {
    const got: Upcall[] = [];
    const up = (open = await openUpcalls(dpif, topo.dp, { dispatch: mode, onBatch: (batch) => void got.push(...batch.map(copyUpcall)) }));
    const userdata = new Uint8Array([0xc0, 0xff, 0xee, 0x00, 0x01, 0x02]);
    const key = udpKey({ inPort: topo.aPort, src: '10.79.0.1', dst: '10.79.0.2', sport: 0, dport: 7100 });
    await dpif.putFlow(topo.dp, { key, mask: udpToPortMask(), ufid: randomUfid(), actions: userspaceAction(up.userspacePid, userdata, true) });
    await fromA.send([udpFrame(45000, 7100, tagged('act-', 0)), udpFrame(45001, 7101, tagged('miss-', 0))]);
    expect(await waitFor(() => got.some((u) => hasTag(u.packet, 'act-')) && got.some((u) => hasTag(u.packet, 'miss-')), 10_000)).toBe(true);

    const act = got.find((u) => hasTag(u.packet, 'act-'))!;
    expect(act.kind).toBe('action');
    expect(Buffer.from(act.userdata!)).toEqual(Buffer.from(userdata));
    expect(inPortOf(act.key)).toBe(topo.aPort);
    // OVS_USERSPACE_ATTR_ACTIONS asked for the flow's actions: our userspace action, as the kernel re-encodes it.
    const acts = parseAttrs(act.actions!);
    expect(acts.map((a) => a.type)).toEqual([ACTION_USERSPACE]);
    expect(act.hash).toBeTypeOf('bigint');
    // The flow's other traffic did not match: a MISS without userdata.
    const miss = got.find((u) => hasTag(u.packet, 'miss-'))!;
    expect(miss.kind).toBe('miss');
    expect(miss.userdata).toBeUndefined();
    expect((await up.kernelStats()).hit).toBeGreaterThanOrEqual(1n);
  });
});

describe('executing upcalled packets', () => {
  it('a handler in the batch callback sends each MISS back out with an output action; the frames arrive intact', async () => {
    const executed: Promise<void>[] = [];
    const seen: Upcall[] = [];
    open = await openUpcalls(dpif, topo.dp, {
      onBatch: (batch) => {
        for (const view of batch) {
          if (!hasTag(view.packet, 'exec-')) continue;
          // The views die with this callback; execute() is asynchronous.
          const u = copyUpcall(view);
          seen.push(u);
          executed.push(dpif.execute(u.dpIfindex, { packet: u.packet, key: u.key, actions: outputActions(topo.bPort, topo.internalPort) }));
        }
      },
    });
    const frames = Array.from({ length: 5 }, (_, i) => udpFrame(46000 + i, 7200, tagged('exec-', i)));
    await fromA.send(frames);
    expect(await waitFor(() => seen.length === 5, 10_000)).toBe(true);
    await Promise.all(executed);
    const arrived = (tap: FrameTap): Uint8Array[] => tap.poll().filter((f) => hasTag(f, 'exec-'));
    expect(await waitFor(() => arrived(atB).length === 5 && arrived(atInternal).length === 5, 5000)).toBe(true);
    const sorted = (fs: Uint8Array[]): string[] => fs.map((f) => Buffer.from(f).toString('hex')).sort();
    expect(sorted(arrived(atB))).toEqual(sorted(frames));
    expect(sorted(arrived(atInternal))).toEqual(sorted(frames));
    expect(open.stats.handled).toBeGreaterThanOrEqual(5);
  });
});
