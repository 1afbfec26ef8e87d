// The C structs of linux/openvswitch.h that travel as attribute payloads:
// statistics blocks and the packed ovs_zone_limit array. All host byte order.
import { HOST_LE } from '../netlink/attr.js';
import { MalformedError } from '../netlink/errors.js';
import { OVS_ZONE_LIMIT_SIZE } from './uapi.js';
import type { StructCodec } from './schema.js';

function viewOf(data: Uint8Array): DataView {
  return new DataView(data.buffer, data.byteOffset, data.byteLength);
}

function exactly(name: string, data: Uint8Array, size: number): DataView {
  if (data.length !== size) throw new MalformedError(`struct ${name} needs ${size} bytes, got ${data.length}`);
  return viewOf(data);
}

/** A struct of consecutive u64 counters, one model field per counter in order. */
export function u64Struct<K extends string>(name: string, fields: readonly K[]): StructCodec<Record<K, bigint>> {
  const size = fields.length * 8;
  return {
    name,
    decode(data) {
      const v = exactly(name, data, size);
      const out = {} as Record<K, bigint>;
      fields.forEach((f, i) => (out[f] = v.getBigUint64(i * 8, HOST_LE)));
      return out;
    },
    encode(value) {
      const out = new Uint8Array(size);
      const v = viewOf(out);
      fields.forEach((f, i) => v.setBigUint64(i * 8, BigInt.asUintN(64, value[f]), HOST_LE));
      return out;
    },
  };
}

/** struct ovs_dp_stats. */
export interface DpStats {
  /** Packets that matched a flow. */
  hit: bigint;
  /** Packets that matched no flow (sent up as MISS upcalls). */
  missed: bigint;
  /** Missed packets that could not be queued to userspace. */
  lost: bigint;
  /** Flows in the table. */
  flows: bigint;
}
export const dpStatsCodec: StructCodec<DpStats> = u64Struct('ovs_dp_stats', ['hit', 'missed', 'lost', 'flows']);

/** struct ovs_dp_megaflow_stats (its two pad fields are always zero and not kept). */
export interface DpMegaflowStats {
  /** Masks tried during flow lookups, summed over packets. */
  maskHit: bigint;
  /** Distinct masks in the flow table. */
  masks: number;
  /** Lookups answered by the mask cache. */
  cacheHit: bigint;
}
export const dpMegaflowStatsCodec: StructCodec<DpMegaflowStats> = {
  name: 'ovs_dp_megaflow_stats',
  decode(data) {
    const v = exactly('ovs_dp_megaflow_stats', data, 32);
    return { maskHit: v.getBigUint64(0, HOST_LE), masks: v.getUint32(8, HOST_LE), cacheHit: v.getBigUint64(16, HOST_LE) };
  },
  encode(value) {
    const out = new Uint8Array(32);
    const v = viewOf(out);
    v.setBigUint64(0, BigInt.asUintN(64, value.maskHit), HOST_LE);
    v.setUint32(8, value.masks >>> 0, HOST_LE);
    v.setBigUint64(16, BigInt.asUintN(64, value.cacheHit), HOST_LE);
    return out;
  },
};

/** struct ovs_vport_stats. */
export interface VportStats {
  rxPackets: bigint;
  txPackets: bigint;
  rxBytes: bigint;
  txBytes: bigint;
  rxErrors: bigint;
  txErrors: bigint;
  rxDropped: bigint;
  txDropped: bigint;
}
export const vportStatsCodec: StructCodec<VportStats> = u64Struct('ovs_vport_stats', [
  'rxPackets',
  'txPackets',
  'rxBytes',
  'txBytes',
  'rxErrors',
  'txErrors',
  'rxDropped',
  'txDropped',
]);

/** struct ovs_flow_stats (flows, meters and meter bands). */
export interface FlowStats {
  packets: bigint;
  bytes: bigint;
}
export const flowStatsCodec: StructCodec<FlowStats> = u64Struct('ovs_flow_stats', ['packets', 'bytes']);

/** struct ovs_zone_limit. */
export interface ZoneLimit {
  /** Conntrack zone (0-65535), or OVS_ZONE_LIMIT_DEFAULT_ZONE (-1) for the default limit. */
  zoneId: number;
  /** Most connections the zone may hold; 0 means unlimited. */
  limit: number;
  /** Connections the zone holds now (replies only; 0 in requests). */
  count: number;
}

/** The payload of OVS_CT_LIMIT_ATTR_ZONE_LIMIT: packed structs, not attributes. */
export const zoneLimitsCodec: StructCodec<ZoneLimit[]> = {
  name: 'ovs_zone_limit[]',
  decode(data) {
    if (data.length % OVS_ZONE_LIMIT_SIZE) {
      throw new MalformedError(`struct ovs_zone_limit array of ${data.length} bytes is not a multiple of ${OVS_ZONE_LIMIT_SIZE}`);
    }
    const v = viewOf(data);
    const out: ZoneLimit[] = [];
    for (let i = 0; i < data.length; i += OVS_ZONE_LIMIT_SIZE) {
      out.push({ zoneId: v.getInt32(i, HOST_LE), limit: v.getUint32(i + 4, HOST_LE), count: v.getUint32(i + 8, HOST_LE) });
    }
    return out;
  },
  encode(value) {
    const out = new Uint8Array(value.length * OVS_ZONE_LIMIT_SIZE);
    const v = viewOf(out);
    value.forEach((z, n) => {
      const i = n * OVS_ZONE_LIMIT_SIZE;
      v.setInt32(i, z.zoneId, HOST_LE);
      v.setUint32(i + 4, z.limit >>> 0, HOST_LE);
      v.setUint32(i + 8, z.count >>> 0, HOST_LE);
    });
    return out;
  },
};
