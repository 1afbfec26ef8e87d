// The six OVS generic netlink families, resolved at run time by name.
import type { Connection } from '../netlink/connection.js';
import { NetlinkError } from '../netlink/errors.js';
import { resolveFamily, type GenlFamily } from '../netlink/genl.js';

export const OVS_DATAPATH_FAMILY = 'ovs_datapath';
export const OVS_VPORT_FAMILY = 'ovs_vport';
export const OVS_FLOW_FAMILY = 'ovs_flow';
export const OVS_PACKET_FAMILY = 'ovs_packet';
export const OVS_METER_FAMILY = 'ovs_meter';
export const OVS_CT_LIMIT_FAMILY = 'ovs_ct_limit';

/** Size of `struct ovs_header { int dp_ifindex; }`, after genlmsghdr in every OVS message. */
export const OVS_HEADER_SIZE = 4;

export interface OvsFamilies {
  datapath: GenlFamily;
  vport: GenlFamily;
  flow: GenlFamily;
  packet: GenlFamily;
  /** Optional in the kernel (since 4.15): undefined where absent. */
  meter?: GenlFamily;
  /** Optional in the kernel (since 4.18): undefined where absent. */
  ctLimit?: GenlFamily;
}

/**
 * The openvswitch module is not loaded: the ovs_datapath family does not
 * exist. Carries the text the CLI prints.
 */
export class ModuleMissingError extends Error {
  override readonly name = 'ModuleMissingError';
  readonly code = 'ENOMODULE';
  constructor(cause: unknown) {
    super(
      "the openvswitch kernel module is not loaded (no generic netlink family 'ovs_datapath'): " +
        "load it with 'modprobe openvswitch', or use ovsnl's userspace fallback datapath (OVSNL_DATAPATH=auto or userspace; ovsnl dpd start)",
      { cause },
    );
  }
}

async function optional(conn: Connection, name: string): Promise<GenlFamily | undefined> {
  try {
    return await resolveFamily(conn, name);
  } catch (err) {
    if (err instanceof NetlinkError && err.code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Resolves all OVS families, as ovs-vswitchd does at start: four required, two optional. */
export async function resolveOvsFamilies(conn: Connection): Promise<OvsFamilies> {
  const names = [OVS_DATAPATH_FAMILY, OVS_VPORT_FAMILY, OVS_FLOW_FAMILY, OVS_PACKET_FAMILY];
  // All lookups go out together in one batch.
  const required = names.map((n) => resolveFamily(conn, n));
  const [meter, ctLimit] = [optional(conn, OVS_METER_FAMILY), optional(conn, OVS_CT_LIMIT_FAMILY)];
  let datapath: GenlFamily, vport: GenlFamily, flow: GenlFamily, packet: GenlFamily;
  try {
    [datapath, vport, flow, packet] = await Promise.all(required);
  } catch (err) {
    await Promise.allSettled([...required, meter, ctLimit]);
    if (err instanceof NetlinkError && err.code === 'ENOENT') throw new ModuleMissingError(err);
    throw err;
  }
  return { datapath, vport, flow, packet, meter: await meter, ctLimit: await ctLimit };
}
