// Decoded family messages -> the Dpif's objects. Shared by request replies
// and multicast notifications, which carry the same messages.
import { MalformedError } from '../netlink/errors.js';
import type { DatapathMessage } from '../ovs/datapath.js';
import type { VportMessage } from '../ovs/vport.js';
import type { FlowMessage } from '../ovs/flow.js';
import type { MeterMessage } from '../ovs/meter.js';
import type { Datapath, Flow, Meter, Vport } from './dpif.js';

export function toDatapath(m: DatapathMessage): Datapath {
  if (m.attrs.name === undefined) throw new MalformedError('ovs_datapath reply without OVS_DP_ATTR_NAME');
  return { ...m.attrs, dpIfindex: m.dpIfindex, name: m.attrs.name };
}

export function toVport(m: VportMessage): Vport {
  const { portNo, type, name } = m.attrs;
  if (portNo === undefined || type === undefined || name === undefined) {
    throw new MalformedError('ovs_vport reply without OVS_VPORT_ATTR_PORT_NO, _TYPE or _NAME');
  }
  return { ...m.attrs, dpIfindex: m.dpIfindex, portNo, type, name };
}

export const toFlow = (m: FlowMessage): Flow => ({ ...m.attrs, dpIfindex: m.dpIfindex });

export function toMeter(m: MeterMessage): Meter {
  if (m.attrs.id === undefined) throw new MalformedError('ovs_meter reply without OVS_METER_ATTR_ID');
  return { ...m.attrs, dpIfindex: m.dpIfindex, id: m.attrs.id };
}
