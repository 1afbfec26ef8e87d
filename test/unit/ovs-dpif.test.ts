// KernelDpif against a scripted kernel: which requests it sends (commands,
// flags, attributes), how it batches, and how it reports failures.
import { beforeEach, describe, expect, it } from 'vitest';
import { Connection } from '../../src/netlink/connection.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_ECHO, NLM_F_REQUEST } from '../../src/netlink/constants.js';
import { NetlinkError } from '../../src/netlink/errors.js';
import { KernelDpif } from '../../src/dpif/kernel.js';
import { decodeDatapathMessage, encodeDatapathMessage } from '../../src/ovs/datapath.js';
import { decodeFlowMessage, encodeFlowMessage } from '../../src/ovs/flow.js';
import { decodeVportMessage } from '../../src/ovs/vport.js';
import { readOvsHeader } from '../../src/ovs/header.js';
import { decodeCtLimitMessage, encodeCtLimitMessage } from '../../src/ovs/ct-limit.js';
import { encodeMeterMessage } from '../../src/ovs/meter.js';
import { ufidFromWords, ufidWords } from '../../src/ovs/ufid.js';
import * as U from '../../src/ovs/uapi.js';
import { FAMILY_IDS, FakeKernel } from './ovs-fake-kernel.js';

let kernel: FakeKernel;
let dpif: KernelDpif;

const dpReply = (name: string, dpIfindex: number, userFeatures = 0) => (seq: number, pid: number) =>
  encodeDatapathMessage(FAMILY_IDS.ovs_datapath, { cmd: U.OVS_DP_CMD_NEW, dpIfindex, attrs: { name, userFeatures } }, { seq, pid });

beforeEach(async () => {
  kernel = new FakeKernel();
  dpif = await KernelDpif.open({ connection: new Connection({ socket: kernel }) });
});

describe('KernelDpif.open', () => {
  it('resolves the families and sends nothing to the OVS families', () => {
    expect(dpif.families.flow.id).toBe(FAMILY_IDS.ovs_flow);
    expect(dpif.families.ctLimit?.id).toBe(FAMILY_IDS.ovs_ct_limit);
    expect(kernel.sent).toHaveLength(0);
  });

  it('works without the optional families and says so when they are used', async () => {
    const k = new FakeKernel();
    k.missing.add('ovs_meter');
    const d = await KernelDpif.open({ connection: new Connection({ socket: k }) });
    expect(d.families.meter).toBeUndefined();
    await expect(d.meterFeatures(1)).rejects.toMatchObject({ errno: 95, message: expect.stringContaining('no ovs_meter family') });
  });
});

describe('datapaths', () => {
  it('a get by name is one GET, version 2, and never a SET (unlike ovs-dpctl)', async () => {
    kernel.handler = () => ({ replies: [dpReply('dp0', 7, 3)] });
    const dp = await dpif.getDatapath('dp0');
    expect(dp).toMatchObject({ name: 'dp0', dpIfindex: 7, userFeatures: 3 });
    expect(kernel.sent).toHaveLength(1);
    const [req] = kernel.sent;
    expect(req).toMatchObject({ type: FAMILY_IDS.ovs_datapath, cmd: U.OVS_DP_CMD_GET, version: 2, dpIfindex: 0, flags: NLM_F_REQUEST | NLM_F_ACK });
    expect(decodeDatapathMessage(req).attrs).toEqual({ name: 'dp0' });
  });

  it('create sends NAME, UPCALL_PID 0 and per-vport dispatch features by default', async () => {
    kernel.handler = () => ({ replies: [dpReply('dp1', 9)] });
    await dpif.createDatapath({ name: 'dp1' });
    // NEW, SET and DEL answer only with NLM_F_ECHO (ovs_notify), GET always.
    expect(kernel.sent[0]).toMatchObject({ cmd: U.OVS_DP_CMD_NEW, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO });
    expect(decodeDatapathMessage(kernel.sent[0]).attrs).toEqual({ name: 'dp1', upcallPid: 0, userFeatures: U.OVS_DP_F_UNALIGNED | U.OVS_DP_F_VPORT_PIDS });
  });

  it('set without userFeatures carries the current ones over', async () => {
    kernel.handler = () => ({ replies: [dpReply('dp0', 7, 0b1011)] });
    await dpif.setDatapath('dp0', { masksCacheSize: 512 });
    expect(kernel.sent.map((s) => s.cmd)).toEqual([U.OVS_DP_CMD_GET, U.OVS_DP_CMD_SET]);
    expect(decodeDatapathMessage(kernel.sent[1]).attrs).toEqual({ name: 'dp0', userFeatures: 0b1011, masksCacheSize: 512 });
  });

  it('errors keep the errno and name the operation', async () => {
    kernel.handler = () => ({ errno: 19 });
    const err = await dpif.getDatapath('nosuchdp').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ code: 'ENODEV', operation: 'datapath get nosuchdp' });
  });

  it('a name learnt once is not looked up again, and is re-resolved after ENODEV', async () => {
    let ifindex = 7;
    kernel.handler = (m) => {
      if (m.type === FAMILY_IDS.ovs_datapath) return { replies: [dpReply('dp0', ifindex)] };
      return readOvsHeader(m).dpIfindex === ifindex ? {} : { errno: 19 };
    };
    await dpif.getDatapath('dp0');
    await dpif.flushFlows('dp0');
    expect(kernel.sent.map((s) => s.type)).toEqual([FAMILY_IDS.ovs_datapath, FAMILY_IDS.ovs_flow]);
    ifindex = 8;
    await dpif.flushFlows('dp0');
    expect(kernel.sent.slice(2).map((s) => [s.type, s.dpIfindex])).toEqual([
      [FAMILY_IDS.ovs_flow, 7],
      [FAMILY_IDS.ovs_datapath, 0],
      [FAMILY_IDS.ovs_flow, 8],
    ]);
  });
});

describe('vports', () => {
  it('refuses types that exist only in OVS userspace without sending anything', async () => {
    await expect(dpif.createVport(7, { name: 'e0', type: 'erspan' })).rejects.toMatchObject({ errno: 95, message: expect.stringContaining('userspace datapath') });
    expect(kernel.sent).toHaveLength(0);
  });

  it('create sends UPCALL_PID [0] unless given', async () => {
    kernel.handler = () => ({ errno: 17 });
    await expect(dpif.createVport(7, { name: 'i0', type: 'internal' })).rejects.toMatchObject({ code: 'EEXIST', operation: 'vport new dp_ifindex 7 i0' });
    expect(decodeVportMessage(kernel.sent[0]).attrs).toEqual({ type: U.OVS_VPORT_TYPE_INTERNAL, name: 'i0', upcallPids: [0] });
  });
});

describe('flows', () => {
  const key = new Uint8Array([8, 0, 3, 0, 1, 0, 0, 0]);
  const actions = new Uint8Array([8, 0, 1, 0, 2, 0, 0, 0]);

  it('modes map to NEW+CREATE, SET, and NEW', async () => {
    await dpif.putFlow(7, { key, actions });
    await dpif.putFlow(7, { key, actions, mode: 'modify' });
    await dpif.putFlow(7, { key, actions, mode: 'upsert', echo: true });
    expect(kernel.sent.map((s) => [s.cmd, s.flags])).toEqual([
      [U.OVS_FLOW_CMD_NEW, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE],
      [U.OVS_FLOW_CMD_SET, NLM_F_REQUEST | NLM_F_ACK],
      [U.OVS_FLOW_CMD_NEW, NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO],
    ]);
    expect(decodeFlowMessage(kernel.sent[0]).attrs).toEqual({ key, actions });
  });

  it('putFlows pipelines every request and reports each result', async () => {
    const flows = Array.from({ length: 300 }, (_, i) => ({ key, actions, ufid: ufidFromWords([i, 0, 0, 0]) }));
    kernel.handler = (m) => (ufidWords(decodeFlowMessage(m).attrs.ufid!)[0] % 100 === 5 ? { errno: 17 } : {});
    const results = await dpif.putFlows(7, flows);
    expect(results.filter((r) => !r.ok)).toHaveLength(3);
    const failed = results[105];
    expect(failed.ok).toBe(false);
    expect(!failed.ok && failed.error).toMatchObject({ code: 'EEXIST', operation: expect.stringMatching(/^flow new ufid:00000069-/) });
    // 300 requests went out in a few sendmsg calls, not 300.
    expect(kernel.batches.slice(-10).length).toBeLessThan(10);
    expect(Math.max(...kernel.batches)).toBeGreaterThan(100);
  });

  it('delete asks for the flow back; without an id it refuses instead of flushing', async () => {
    const ufid = ufidFromWords([1, 2, 3, 4]);
    kernel.handler = () => ({
      replies: [(seq, pid) => encodeFlowMessage(FAMILY_IDS.ovs_flow, { cmd: U.OVS_FLOW_CMD_DEL, dpIfindex: 7, attrs: { ufid, key, stats: { packets: 3n, bytes: 180n } } }, { seq, pid })],
    });
    const flow = await dpif.deleteFlow(7, { ufid });
    expect(flow).toMatchObject({ dpIfindex: 7, stats: { packets: 3n, bytes: 180n } });
    expect(kernel.sent[0].flags & NLM_F_ECHO).toBe(NLM_F_ECHO);
    await expect(dpif.deleteFlow(7, {})).rejects.toBeInstanceOf(TypeError);
    expect(kernel.sent).toHaveLength(1);
  });

  it('dump sends UFID_FLAGS and yields every flow', async () => {
    kernel.handler = () => ({
      replies: [1, 2, 3].map((i) => (seq: number, pid: number) =>
        encodeFlowMessage(FAMILY_IDS.ovs_flow, { cmd: U.OVS_FLOW_CMD_GET, dpIfindex: 7, attrs: { ufid: ufidFromWords([i, 0, 0, 0]) } }, { seq, pid }),
      ),
    });
    const got = [];
    for await (const f of dpif.dumpFlows(7, { ufidFlags: U.OVS_UFID_F_OMIT_ACTIONS })) got.push(f.ufid![0]);
    expect(got).toEqual([1, 2, 3]);
    expect(kernel.sent[0].flags & NLM_F_DUMP).toBe(NLM_F_DUMP);
    expect(decodeFlowMessage(kernel.sent[0]).attrs).toEqual({ ufidFlags: U.OVS_UFID_F_OMIT_ACTIONS });
  });
});

describe('meters and ct limits', () => {
  it('meter set sends drop bands; delete of a missing meter is undefined', async () => {
    kernel.handler = () => ({ replies: [(seq, pid) => encodeMeterMessage(FAMILY_IDS.ovs_meter, { cmd: U.OVS_METER_CMD_DEL, dpIfindex: 7, attrs: {} }, { seq, pid })] });
    expect(await dpif.setMeter(7, { id: 1, kbps: true, bands: [{ rate: 1000, burst: 100 }] })).toBeUndefined();
    expect(await dpif.deleteMeter(7, 1)).toBeUndefined();
  });

  it('ct limits: a zone query also asks for the default; requests use dp_ifindex 0', async () => {
    kernel.handler = () => ({
      replies: [
        (seq, pid) =>
          encodeCtLimitMessage(
            FAMILY_IDS.ovs_ct_limit,
            { cmd: U.OVS_CT_LIMIT_CMD_GET, dpIfindex: 0, attrs: { zoneLimits: [{ zoneId: -1, limit: 100, count: 0 }, { zoneId: 5, limit: 3, count: 2 }] } },
            { seq, pid },
          ),
      ],
    });
    expect(await dpif.getCtLimits([5])).toEqual({ defaultLimit: 100, zones: [{ zoneId: 5, limit: 3, count: 2 }] });
    expect(kernel.sent[0].dpIfindex).toBe(0);
    expect(decodeCtLimitMessage(kernel.sent[0]).attrs.zoneLimits!.map((z) => z.zoneId)).toEqual([-1, 5]);
  });
});
