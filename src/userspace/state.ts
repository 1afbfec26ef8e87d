// The daemon's configuration on disk: datapaths and their ports, written
// after every change and read back at start, so a daemon restart is like a
// reboot of a host whose ovsdb remembers the bridges. Flows are a cache (the
// kernel forgets them too) and upcall pids belong to processes that are gone,
// so neither is kept.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import * as U from '../ovs/uapi.js';
import type { Datapath } from './datapath.js';
import type { DatapathRegistry } from './served-families.js';

export const STATE_VERSION = 1;

export type PortTypeName = 'netdev' | 'internal' | 'vxlan' | 'geneve' | 'gre';

export interface PortState {
  portNo: number;
  name: string;
  type: PortTypeName;
  /** A tunnel port's UDP port. */
  dstPort?: number;
  /** A VXLAN port with the group policy extension (absent: without). */
  gbp?: true;
}

export interface DatapathState {
  name: string;
  userFeatures: number;
  masksCacheSize: number;
  /** Every port but the local one, which comes with the datapath. */
  ports: PortState[];
}

export interface DpdState {
  version: typeof STATE_VERSION;
  datapaths: DatapathState[];
}

const TYPE_NAMES: Record<number, PortTypeName> = {
  [U.OVS_VPORT_TYPE_NETDEV]: 'netdev',
  [U.OVS_VPORT_TYPE_INTERNAL]: 'internal',
  [U.OVS_VPORT_TYPE_VXLAN]: 'vxlan',
  [U.OVS_VPORT_TYPE_GENEVE]: 'geneve',
  [U.OVS_VPORT_TYPE_GRE]: 'gre',
};
const TYPE_NUMBERS: Record<PortTypeName, number> = {
  netdev: U.OVS_VPORT_TYPE_NETDEV,
  internal: U.OVS_VPORT_TYPE_INTERNAL,
  vxlan: U.OVS_VPORT_TYPE_VXLAN,
  geneve: U.OVS_VPORT_TYPE_GENEVE,
  gre: U.OVS_VPORT_TYPE_GRE,
};

export class StateFileError extends Error {
  override readonly name = 'StateFileError';
}

export function emptyState(): DpdState {
  return { version: STATE_VERSION, datapaths: [] };
}

function datapathState(dp: Datapath): DatapathState {
  const ports: PortState[] = [];
  for (const p of [...dp.ports.values()].sort((a, b) => a.portNo - b.portNo)) {
    if (p.portNo === U.OVSP_LOCAL) continue;
    const type = TYPE_NAMES[p.type];
    if (!type) continue;
    const s: PortState = { portNo: p.portNo, name: p.name, type };
    if (p.tunnel?.dstPort !== undefined) s.dstPort = p.tunnel.dstPort;
    if (p.tunnel?.gbp) s.gbp = true;
    ports.push(s);
  }
  return { name: dp.name, userFeatures: dp.userFeatures, masksCacheSize: dp.masksCacheSize, ports };
}

/** The configuration of every datapath, in name order (stable files, readable diffs). */
export function snapshot(reg: DatapathRegistry): DpdState {
  const dps = [...reg.datapaths.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { version: STATE_VERSION, datapaths: dps.map(datapathState) };
}

export function serializeState(state: DpdState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isU32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const isName = (v: unknown): v is string => typeof v === 'string' && /^[^/\s]{1,15}$/.test(v);

function parsePort(v: unknown, where: string): PortState {
  if (!isObject(v)) throw new StateFileError(`${where}: not an object`);
  const { portNo, name, type, dstPort, gbp } = v;
  if (!isU32(portNo) || portNo === U.OVSP_LOCAL || portNo >= 0xffff) throw new StateFileError(`${where}: bad portNo`);
  if (!isName(name)) throw new StateFileError(`${where}: bad name`);
  if (type !== 'netdev' && type !== 'internal' && type !== 'vxlan' && type !== 'geneve' && type !== 'gre') throw new StateFileError(`${where}: bad type`);
  if (type === 'vxlan' || type === 'geneve') {
    if (!isU32(dstPort) || dstPort < 1 || dstPort > 0xffff) throw new StateFileError(`${where}: bad dstPort`);
    if (gbp !== undefined && (gbp !== true || type !== 'vxlan')) throw new StateFileError(`${where}: bad gbp`);
    return gbp ? { portNo, name, type, dstPort, gbp } : { portNo, name, type, dstPort };
  }
  return { portNo, name, type };
}

/** Checks a parsed state file's shape; StateFileError says where it is wrong. */
export function parseState(text: string): DpdState {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new StateFileError(`not JSON: ${(err as Error).message}`);
  }
  if (!isObject(v) || v.version !== STATE_VERSION || !Array.isArray(v.datapaths)) throw new StateFileError(`not an ovsnl dpd state of version ${STATE_VERSION}`);
  const datapaths = v.datapaths.map((d: unknown, i: number): DatapathState => {
    const where = `datapaths[${i}]`;
    if (!isObject(d)) throw new StateFileError(`${where}: not an object`);
    if (!isName(d.name)) throw new StateFileError(`${where}: bad name`);
    if (!isU32(d.userFeatures) || !isU32(d.masksCacheSize)) throw new StateFileError(`${where}: bad userFeatures or masksCacheSize`);
    if (!Array.isArray(d.ports)) throw new StateFileError(`${where}: ports is not an array`);
    return { name: d.name, userFeatures: d.userFeatures, masksCacheSize: d.masksCacheSize, ports: d.ports.map((p: unknown, j: number) => parsePort(p, `${where}.ports[${j}]`)) };
  });
  return { version: STATE_VERSION, datapaths };
}

/** The state file's contents; an empty state when there is no file yet. */
export function readState(path: string): DpdState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw err;
  }
  return parseState(text);
}

/**
 * Writes the file so that a crash at any moment leaves either the old or the
 * new contents: a temporary file, fsync, rename over, fsync of the directory.
 */
export function writeStateAtomic(path: string, state: DpdState): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp.${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, serializeState(state));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/** What restore() did, one line per datapath or port it could not bring back. */
export interface RestoreReport {
  datapaths: number;
  ports: number;
  problems: string[];
}

/**
 * Re-creates the datapaths and ports of a state. Internal ports get new TAP
 * devices. A netdev port whose device is gone is dropped, as the kernel
 * detaches a vport when its device unregisters (and ovs-vswitchd, restarted,
 * fails to add it): the report names it, and the next save forgets it.
 */
export function restore(reg: DatapathRegistry, state: DpdState): RestoreReport {
  const report: RestoreReport = { datapaths: 0, ports: 0, problems: [] };
  for (const d of state.datapaths) {
    if (reg.datapaths.has(d.name)) {
      report.problems.push(`datapath ${d.name}: listed twice, the second is ignored`);
      continue;
    }
    let dp: Datapath;
    try {
      // Upcall pids belong to processes of the previous run: none until a client sets them.
      dp = reg.createDatapath(d.name, 0);
    } catch (err) {
      report.problems.push(`datapath ${d.name}: not restored: ${(err as Error).message}`);
      continue;
    }
    dp.userFeatures = d.userFeatures;
    dp.masksCacheSize = d.masksCacheSize;
    reg.datapaths.set(d.name, dp);
    report.datapaths++;
    for (const p of d.ports) {
      try {
        dp.addPort({ name: p.name, type: TYPE_NUMBERS[p.type], portNo: p.portNo, upcallPids: [0], dstPort: p.dstPort, gbp: p.gbp });
        report.ports++;
      } catch (err) {
        report.problems.push(`datapath ${d.name}: port ${p.portNo} (${p.name}, ${p.type}) dropped: ${(err as Error).message}`);
      }
    }
  }
  return report;
}
