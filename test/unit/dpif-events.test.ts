// Multicast notifications decoded into typed events, without a kernel.
import { describe, expect, it } from 'vitest';
import { decodeNotification } from '../../src/dpif/notification.js';
import { encodeDatapathMessage } from '../../src/ovs/datapath.js';
import { encodeFlowMessage } from '../../src/ovs/flow.js';
import { encodeMeterMessage } from '../../src/ovs/meter.js';
import { parseMessages } from '../../src/netlink/message.js';
import type { OvsFamilies } from '../../src/ovs/families.js';
import * as U from '../../src/ovs/uapi.js';
import { FAMILY_IDS } from './ovs-fake-kernel.js';

describe('notifications', () => {
  const fam = (name: string, id: number) => ({ id, name, version: 1, hdrSize: 4, maxAttr: 0, ops: [], groups: new Map([[name, id + 0x100]]) });
  const families: OvsFamilies = {
    datapath: fam('ovs_datapath', FAMILY_IDS.ovs_datapath),
    vport: fam('ovs_vport', FAMILY_IDS.ovs_vport),
    flow: fam('ovs_flow', FAMILY_IDS.ovs_flow),
    packet: fam('ovs_packet', FAMILY_IDS.ovs_packet),
    meter: fam('ovs_meter', FAMILY_IDS.ovs_meter),
  };
  const one = (bytes: Uint8Array) => parseMessages(bytes)[0];

  it('decodes datapath, flow and meter changes with who caused them', () => {
    const dp = one(encodeDatapathMessage(FAMILY_IDS.ovs_datapath, { cmd: U.OVS_DP_CMD_SET, dpIfindex: 9, attrs: { name: 'dp0', userFeatures: 3 } }, { seq: 77, pid: 1234 }));
    expect(decodeNotification(families, dp)).toMatchObject({ family: 'datapath', cmd: 'set', dpIfindex: 9, portId: 1234, seq: 77, object: { name: 'dp0', userFeatures: 3 } });
    const flow = one(encodeFlowMessage(FAMILY_IDS.ovs_flow, { cmd: U.OVS_FLOW_CMD_DEL, dpIfindex: 9, attrs: { ufid: new Uint8Array(16) } }));
    expect(decodeNotification(families, flow)).toMatchObject({ family: 'flow', cmd: 'del', portId: 0 });
    const meter = one(encodeMeterMessage(FAMILY_IDS.ovs_meter, { cmd: U.OVS_METER_CMD_DEL, dpIfindex: 9, attrs: { id: 4 } }));
    expect(decodeNotification(families, meter)).toMatchObject({ family: 'meter', cmd: 'del', object: { id: 4 } });
  });

  it('ignores replies to GETs and other families; throws a typed error on a broken message', () => {
    expect(decodeNotification(families, one(encodeDatapathMessage(FAMILY_IDS.ovs_datapath, { cmd: U.OVS_DP_CMD_GET, dpIfindex: 9, attrs: { name: 'x' } })))).toBeUndefined();
    expect(decodeNotification(families, one(encodeDatapathMessage(0x99, { cmd: U.OVS_DP_CMD_NEW, dpIfindex: 9, attrs: { name: 'x' } })))).toBeUndefined();
    const nameless = one(encodeDatapathMessage(FAMILY_IDS.ovs_datapath, { cmd: U.OVS_DP_CMD_NEW, dpIfindex: 9, attrs: {} }));
    expect(() => decodeNotification(families, nameless)).toThrow(/without OVS_DP_ATTR_NAME/);
  });
});
