// A vport's statistics as the kernel reports them: ovs_vport_get_stats()
// returns the counters of the port's net device (dev_get_stats), not what
// the datapath itself moved. So a netdev port counts all of its device's
// traffic, and an internal port counts from the device's side (what the host
// sends on it is TX). Linux shows the same counters in sysfs.
import { readFileSync } from 'node:fs';
import type { VportStats } from '../ovs/structs.js';

const FIELDS: [keyof VportStats, string][] = [
  ['rxPackets', 'rx_packets'],
  ['txPackets', 'tx_packets'],
  ['rxBytes', 'rx_bytes'],
  ['txBytes', 'tx_bytes'],
  ['rxErrors', 'rx_errors'],
  ['txErrors', 'tx_errors'],
  ['rxDropped', 'rx_dropped'],
  ['txDropped', 'tx_dropped'],
];

/** The device's counters, or undefined when it is gone (or the name is not a plain device name). */
export function deviceStats(name: string): VportStats | undefined {
  if (!/^[^/\s]{1,15}$/.test(name) || name === '.' || name === '..') return undefined;
  const s: Partial<VportStats> = {};
  try {
    for (const [field, file] of FIELDS) s[field] = BigInt(readFileSync(`/sys/class/net/${name}/statistics/${file}`, 'utf8').trim());
  } catch {
    return undefined;
  }
  return s as VportStats;
}
