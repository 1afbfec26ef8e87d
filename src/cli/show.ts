// `show`: a datapath's lookups, flows, masks and caches, then its ports in
// port-number order (lib/dpctl.c show_dpif), byte for byte. With -s, each
// port's counters as ovs-dpctl reads them: the vport's own (from the dump
// already in hand) plus, for system netdevs, the device's error counters.
import { readFileSync, existsSync } from 'node:fs';
import type { Datapath, Vport } from '../dpif/dpif.js';
import { vportTypeName } from '../ovs/vport.js';
import { cFixed } from './cfmt.js';
import { fullName } from './dpname.js';
import { isTunnelType, portConfig, portType, portTypeSuffix } from './port-types.js';

/** netdev_stats fields `show -s` prints; undefined prints "?" (OVS: UINT64_MAX). */
export interface PortCounters {
  rxPackets?: bigint;
  rxErrors?: bigint;
  rxDropped?: bigint;
  rxOverErrors?: bigint;
  rxFrameErrors?: bigint;
  txPackets?: bigint;
  txErrors?: bigint;
  txDropped?: bigint;
  txAbortedErrors?: bigint;
  txCarrierErrors?: bigint;
  collisions?: bigint;
  rxBytes?: bigint;
  txBytes?: bigint;
}

const SYSFS = '/sys/class/net';

function sysCounter(name: string, counter: string): bigint {
  try {
    return BigInt(readFileSync(`${SYSFS}/${name}/statistics/${counter}`, 'utf8').trim());
  } catch {
    return 0n;
  }
}

/** Counters as netdev_get_stats() gives them to ovs-dpctl, or the reason it cannot. */
export function portCounters(v: Vport, type: string): PortCounters | { error: string } {
  if (isTunnelType(type)) {
    // netdev_vport_get_stats: only the packets and bytes this process sent itself.
    return { rxPackets: 0n, txPackets: 0n, rxBytes: 0n, txBytes: 0n };
  }
  const s = v.stats;
  if (type === 'internal') {
    if (!s) return { error: 'could not retrieve stats (Operation not supported)' };
    return { ...vportCounters(s), rxOverErrors: 0n, rxFrameErrors: 0n, txAbortedErrors: 0n, txCarrierErrors: 0n, collisions: 0n };
  }
  if (!existsSync(`${SYSFS}/${v.name}`)) return { error: 'open failed (No such device)' };
  const dev = (c: string): bigint => sysCounter(v.name, c);
  if (!s) {
    return {
      rxPackets: dev('rx_packets'),
      rxErrors: dev('rx_errors'),
      rxDropped: dev('rx_dropped'),
      rxOverErrors: dev('rx_over_errors'),
      rxFrameErrors: dev('rx_frame_errors'),
      txPackets: dev('tx_packets'),
      txErrors: dev('tx_errors'),
      txDropped: dev('tx_dropped'),
      txAbortedErrors: dev('tx_aborted_errors'),
      txCarrierErrors: dev('tx_carrier_errors'),
      collisions: dev('collisions'),
      rxBytes: dev('rx_bytes'),
      txBytes: dev('tx_bytes'),
    };
  }
  return {
    ...vportCounters(s),
    rxOverErrors: dev('rx_over_errors'),
    rxFrameErrors: dev('rx_frame_errors'),
    txAbortedErrors: dev('tx_aborted_errors'),
    txCarrierErrors: dev('tx_carrier_errors'),
    collisions: dev('collisions'),
  };
}

function vportCounters(s: NonNullable<Vport['stats']>): PortCounters {
  return {
    rxPackets: s.rxPackets,
    txPackets: s.txPackets,
    rxBytes: s.rxBytes,
    txBytes: s.txBytes,
    rxErrors: s.rxErrors,
    txErrors: s.txErrors,
    rxDropped: s.rxDropped,
    txDropped: s.txDropped,
  };
}

const stat = (v: bigint | undefined): string => (v === undefined ? '?' : String(v));

function humanSize(v: bigint | undefined): string {
  if (v === undefined) return '';
  const n = Number(v);
  const K = 1024;
  if (v >= 1024n ** 4n) return ` (${cFixed(n / K ** 4, 1)} TiB)`;
  if (v >= 1024n ** 3n) return ` (${cFixed(n / K ** 3, 1)} GiB)`;
  if (v >= 1024n ** 2n) return ` (${cFixed(n / K ** 2, 1)} MiB)`;
  if (v >= 1024n) return ` (${cFixed(n / K, 1)} KiB)`;
  return '';
}

export function formatCounters(c: PortCounters): string {
  return (
    `    RX packets:${stat(c.rxPackets)} errors:${stat(c.rxErrors)} dropped:${stat(c.rxDropped)} overruns:${stat(c.rxOverErrors)} frame:${stat(c.rxFrameErrors)}\n` +
    `    TX packets:${stat(c.txPackets)} errors:${stat(c.txErrors)} dropped:${stat(c.txDropped)} aborted:${stat(c.txAbortedErrors)} carrier:${stat(c.txCarrierErrors)}\n` +
    `    collisions:${stat(c.collisions)}\n` +
    `    RX bytes:${stat(c.rxBytes)}${humanSize(c.rxBytes)}  TX bytes:${stat(c.txBytes)}${humanSize(c.txBytes)}\n`
  );
}

/** The "  caches:" block (empty when the kernel reports no mask cache). */
export function formatCaches(dp: Datapath): string {
  if (dp.masksCacheSize === undefined) return '';
  return `  caches:\n    masks-cache: size:${dp.masksCacheSize}\n`;
}

export function formatDatapathHeader(dp: Datapath): string {
  let s = `${fullName(dp)}:\n`;
  const st = dp.stats ?? { hit: 0n, missed: 0n, lost: 0n, flows: 0n };
  s += `  lookups: hit:${st.hit} missed:${st.missed} lost:${st.lost}\n  flows: ${st.flows}\n`;
  const mf = dp.megaflowStats;
  if (mf) {
    const pkts = st.hit + st.missed;
    const avg = pkts ? Number(mf.maskHit) / Number(pkts) : 0;
    s += `  masks: hit:${mf.maskHit} total:${mf.masks} hit/pkt:${cFixed(avg, 2)}\n`;
    // Older kernels report zero here and OVS then hides the line.
    if (mf.cacheHit) {
      const rate = pkts ? (Number(mf.cacheHit) / Number(pkts)) * 100 : 0;
      s += `  cache: hit:${mf.cacheHit} hit-rate:${cFixed(rate, 2)}%\n`;
    }
  }
  return s + formatCaches(dp);
}

/** The whole `show` text of one datapath. */
export function formatShow(dp: Datapath, vports: Vport[], statistics: boolean): string {
  let s = formatDatapathHeader(dp);
  for (const v of [...vports].sort((a, b) => a.portNo - b.portNo)) {
    const type = portType(v);
    s += `  port ${v.portNo}: ${v.name}${portTypeSuffix(v.name, type)}\n`;
    if (statistics) {
      const c = portCounters(v, type);
      s += 'error' in c ? `, ${c.error}` : formatCounters(c);
    }
  }
  return s;
}

// ---- JSON (docs/cli-json.md) ------------------------------------------------

const num = (v: bigint | undefined): number | null => (v === undefined ? null : Number(v));

export function showJson(dp: Datapath, vports: Vport[], statistics: boolean): unknown {
  const st = dp.stats ?? { hit: 0n, missed: 0n, lost: 0n, flows: 0n };
  const mf = dp.megaflowStats;
  const pkts = st.hit + st.missed;
  return {
    name: fullName(dp),
    base_name: dp.name,
    dp_ifindex: dp.dpIfindex,
    lookups: { hit: num(st.hit), missed: num(st.missed), lost: num(st.lost) },
    flows: num(st.flows),
    masks: mf ? { hit: num(mf.maskHit), total: mf.masks, hit_per_pkt: pkts ? Number(mf.maskHit) / Number(pkts) : 0 } : null,
    cache: mf && mf.cacheHit ? { hit: num(mf.cacheHit), hit_rate: pkts ? (Number(mf.cacheHit) / Number(pkts)) * 100 : 0 } : null,
    caches: dp.masksCacheSize === undefined ? {} : { 'masks-cache': dp.masksCacheSize },
    user_features: dp.userFeatures ?? null,
    ports: [...vports]
      .sort((a, b) => a.portNo - b.portNo)
      .map((v) => {
        const type = portType(v);
        const port: Record<string, unknown> = {
          port_no: v.portNo,
          name: v.name,
          type,
          kernel_type: vportTypeName(v.type),
          config: Object.fromEntries(portConfig(v.name, type)),
        };
        if (statistics) {
          const c = portCounters(v, type);
          port.stats =
            'error' in c
              ? { error: c.error }
              : Object.fromEntries(Object.entries(c).map(([k, val]) => [k.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`), num(val as bigint | undefined)]));
        }
        return port;
      }),
  };
}

