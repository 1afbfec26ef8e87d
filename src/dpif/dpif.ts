// The Dpif: one typed interface over a datapath implementation, kernel or
// userspace. Key, mask and actions are raw OVS_KEY_ATTR_* / OVS_ACTION_ATTR_*
// attribute streams at this level; the key and action models build them.
import type { DatapathAttrs } from '../ovs/datapath.js';
import type { VportAttrs, VportOptions, VportTypeName } from '../ovs/vport.js';
import type { FlowAttrs } from '../ovs/flow.js';
import type { PacketExecute } from '../ovs/packet.js';
import type { MeterAttrs } from '../ovs/meter.js';
import type { ZoneLimit } from '../ovs/structs.js';
import type { Ufid } from '../ovs/ufid.js';
import type { UpcallDispatch } from './negotiate.js';

/** A datapath by name, or by its dp_ifindex. */
export type DpRef = string | number;

export interface Datapath extends DatapathAttrs {
  dpIfindex: number;
  name: string;
}

export interface DatapathCreate {
  name: string;
  /** Upcall port id of the local port; 0 (the default) sends no upcalls. */
  upcallPid?: number;
  /**
   * OVS_DP_F_* bits, sent as given. Left out, they are negotiated: unaligned,
   * plus the `dispatch` mode if the kernel has it, else per-vport pids.
   */
  userFeatures?: number;
  /**
   * Upcall dispatch to ask for when userFeatures is left out. 'per-cpu' is
   * what ovs-vswitchd prefers; the kernel falls back to 'per-vport' where it
   * lacks it. Default: 'per-cpu' when perCpuPids are given, else 'per-vport'
   * (per-CPU dispatch without pids loses every upcall).
   */
  dispatch?: UpcallDispatch;
  /** Also probe the kernel's key and action support now (installs and removes probe flows); see features(). */
  probeFeatures?: boolean;
  masksCacheSize?: number;
  perCpuPids?: number[];
  /** ifindex to give the local netdev. */
  ifindex?: number;
}

export interface DatapathChanges {
  /** Left out: the datapath's current features are kept (the kernel itself would clear them). */
  userFeatures?: number;
  masksCacheSize?: number;
  perCpuPids?: number[];
}

/** A vport by port number, or by name. */
export type VportRef = number | string;

export interface Vport extends VportAttrs {
  dpIfindex: number;
  portNo: number;
  type: number;
  name: string;
}

export interface VportCreate {
  name: string;
  type: VportTypeName | number;
  /** A free number is picked when absent. */
  portNo?: number;
  /** Default [0]: no upcalls. */
  upcallPids?: number[];
  options?: VportOptions;
  /** Internal ports only: the ifindex to give the new netdev. */
  ifindex?: number;
}

export interface VportChanges {
  upcallPids?: number[];
  options?: VportOptions;
}

export interface Flow extends FlowAttrs {
  dpIfindex: number;
}

/**
 * Which flow: by UFID, or by exact key. The kernel looks keys up only among
 * flows created without a UFID: a flow created with one is found by it alone
 * (ENOENT by key), hence ovs-dpctl's "Perhaps you need to specify a UFID?".
 */
export interface FlowId {
  ufid?: Ufid;
  key?: Uint8Array;
}

/**
 * create: fails with EEXIST if the flow exists (NEW with NLM_F_CREATE, which
 * the kernel takes as exclusive). modify: fails with ENOENT if it does not
 * (SET). upsert: creates, or replaces the actions of an existing flow (NEW
 * without flags).
 */
export type FlowPutMode = 'create' | 'modify' | 'upsert';

export interface FlowDeleteOptions {
  /** Ask for the deleted flow (key, mask, actions, final stats); default true. */
  stats?: boolean;
}

export interface FlowPut {
  key: Uint8Array;
  /** Absent: exact match on every key bit. */
  mask?: Uint8Array;
  /** Required for create and upsert; a modify without it keeps the actions. */
  actions?: Uint8Array;
  /** Without one the flow is known by its key alone. */
  ufid?: Ufid;
  /** Default 'create'. */
  mode?: FlowPutMode;
  /** modify: zero stats, used and tcp_flags. */
  clear?: boolean;
  probe?: boolean;
  /** Ask for the resulting flow back (NLM_F_ECHO). */
  echo?: boolean;
  ufidFlags?: number;
  /**
   * The caller vouches that key, mask and actions hold nothing only OVS's
   * userspace datapath knows (a key the kernel sent up, streams the caller
   * scanned once): the Dpif's scan of every request is skipped.
   */
  kernelChecked?: boolean;
}

export type FlowPutResult = { ok: true; flow?: Flow } | { ok: false; error: Error };

export interface FlowDumpOptions {
  /** OVS_UFID_F_OMIT_*: leave key, mask or actions out of the replies. */
  ufidFlags?: number;
}

export interface FlowGetOptions {
  ufidFlags?: number;
}

export interface MeterFeatures {
  maxMeters: number;
  maxBands: number;
  /** OVS_METER_BAND_TYPE_* the datapath implements. */
  bandTypes: number[];
}

export interface MeterBandConfig {
  /** Default OVS_METER_BAND_TYPE_DROP. */
  type?: number;
  rate: number;
  burst: number;
}

export interface MeterConfig {
  id: number;
  kbps?: boolean;
  bands: MeterBandConfig[];
  /** Do not carry the replaced meter's stats over. */
  clear?: boolean;
}

export interface Meter extends MeterAttrs {
  dpIfindex: number;
  id: number;
}

export interface CtLimits {
  /** The limit of zones without their own; 0 means unlimited. */
  defaultLimit: number;
  /** Zones with their own limit (or the ones asked for), with their connection counts. */
  zones: ZoneLimit[];
}

export interface CtLimitsChange {
  defaultLimit?: number;
  zones?: { zoneId: number; limit: number }[];
}

export interface Dpif {
  /**
   * Warnings given before changing state, oldest first (e.g. that an
   * ovs-vswitchd runs on the host and may delete datapaths it does not own).
   */
  readonly warnings: readonly string[];
  /** Called with each new warning as it is given. */
  onWarning?: (warning: string) => void;

  createDatapath(dp: DatapathCreate): Promise<Datapath>;
  getDatapath(dp: DpRef): Promise<Datapath>;
  listDatapaths(): Promise<Datapath[]>;
  setDatapath(dp: DpRef, changes: DatapathChanges): Promise<Datapath>;
  deleteDatapath(dp: DpRef): Promise<Datapath>;

  createVport(dp: DpRef, vport: VportCreate): Promise<Vport>;
  getVport(dp: DpRef, vport: VportRef): Promise<Vport>;
  listVports(dp: DpRef): Promise<Vport[]>;
  setVport(dp: DpRef, vport: VportRef, changes: VportChanges): Promise<Vport>;
  deleteVport(dp: DpRef, vport: VportRef): Promise<Vport>;

  /** Resolves with the flow when `echo` was asked for. */
  putFlow(dp: DpRef, flow: FlowPut): Promise<Flow | undefined>;
  /** All requests at once, pipelined; one result per flow, in order, failures included. */
  putFlows(dp: DpRef, flows: FlowPut[]): Promise<FlowPutResult[]>;
  getFlow(dp: DpRef, id: FlowId, opts?: FlowGetOptions): Promise<Flow>;
  /**
   * Resolves with the deleted flow and its final stats. With `stats: false`
   * the kernel is not asked to echo the flow (no reply to build, decode or
   * carry: bulk deletes run faster) and the result holds only the id.
   */
  deleteFlow(dp: DpRef, id: FlowId, opts?: FlowDeleteOptions): Promise<Flow>;
  /**
   * Many deletes at once, in order; one entry per id: the deleted flow (with
   * `stats: false`, only its id, and all deletes answered by one ACK) or the error.
   */
  deleteFlows(dp: DpRef, ids: readonly FlowId[], opts?: FlowDeleteOptions): Promise<(Flow | Error)[]>;
  flushFlows(dp: DpRef): Promise<void>;
  dumpFlows(dp: DpRef, opts?: FlowDumpOptions): AsyncIterable<Flow>;

  execute(dp: DpRef, packet: PacketExecute): Promise<void>;
  /** Many packets at once, acknowledged together; one entry per packet, in order: undefined (done) or its error. */
  executeMany(dp: DpRef, packets: readonly PacketExecute[]): Promise<(Error | undefined)[]>;

  meterFeatures(dp: DpRef): Promise<MeterFeatures>;
  /** Resolves with the replaced meter's final stats, if there was one that kept them. */
  setMeter(dp: DpRef, meter: MeterConfig): Promise<Meter | undefined>;
  getMeter(dp: DpRef, id: number): Promise<Meter>;
  /** Resolves with the deleted meter, or undefined if there was none. */
  deleteMeter(dp: DpRef, id: number): Promise<Meter | undefined>;
  /** The meters of these ids that exist (the kernel has no meter dump). */
  getMeters(dp: DpRef, ids: number[]): Promise<Meter[]>;

  setCtLimits(change: CtLimitsChange): Promise<void>;
  /** All limits, or those of the given zones (-1: the default). */
  getCtLimits(zones?: number[]): Promise<CtLimits>;
  /** Removes zones' own limits (they fall back to the default). */
  deleteCtLimits(zones: number[]): Promise<void>;

  close(): void;
}
