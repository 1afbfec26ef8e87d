// A datapath and its vports as the openvswitch module keeps them, for the
// dispatch logic: SET replaces the user features (unknown bits refused on an
// "old kernel"), takes per-CPU pids only with the per-CPU bit, and reports
// a vport's pid array whole only under OVS_DP_F_VPORT_PIDS.
import { NetlinkError } from '../../src/netlink/errors.js';
import * as U from '../../src/ovs/uapi.js';
import type { Datapath, DatapathChanges, Dpif, DpRef, Vport, VportChanges, VportRef } from '../../src/dpif/dpif.js';

const KNOWN = U.OVS_DP_F_UNALIGNED | U.OVS_DP_F_VPORT_PIDS | U.OVS_DP_F_TC_RECIRC_SHARING | U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU;

export class FakeDpif {
  features: number;
  perCpuPids?: number[];
  vports = new Map<number, { name: string; pids: number[] }>();
  /** Every request, for asserting what was sent. */
  log: string[] = [];

  constructor(
    features = U.OVS_DP_F_UNALIGNED | U.OVS_DP_F_VPORT_PIDS,
    private readonly perCpuSupported = true,
    /** Kernels before 6.1 do not report OVS_DP_ATTR_PER_CPU_PIDS. */
    private readonly reportsPerCpuPids = true,
  ) {
    this.features = features;
    this.vports.set(0, { name: 'dp', pids: [0] });
    this.vports.set(1, { name: 'p1', pids: [0] });
  }

  get dpif(): Dpif {
    return this as unknown as Dpif;
  }

  private dp(): Datapath {
    const d: Datapath = { dpIfindex: 7, name: 'dp', userFeatures: this.features, stats: { hit: 1n, missed: 2n, lost: 3n, flows: 0n } };
    if (this.reportsPerCpuPids && this.perCpuPids && this.features & U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU) d.perCpuPids = [...this.perCpuPids];
    return d;
  }

  private vport(portNo: number): Vport {
    const v = this.vports.get(portNo);
    if (!v) throw new NetlinkError({ errno: 19, operation: `vport ${portNo}` });
    const upcallPids = this.features & U.OVS_DP_F_VPORT_PIDS ? [...v.pids] : [v.pids[0]];
    return { dpIfindex: 7, portNo, type: 1, name: v.name, upcallPids };
  }

  async getDatapath(_dp: DpRef): Promise<Datapath> {
    this.log.push('dp get');
    return this.dp();
  }

  async setDatapath(_dp: DpRef, c: DatapathChanges): Promise<Datapath> {
    const f = c.userFeatures ?? this.features;
    this.log.push(`dp set 0x${f.toString(16)}${c.perCpuPids ? ` [${c.perCpuPids.join(',')}]` : ''}`);
    if (f & ~KNOWN || (!this.perCpuSupported && f & U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU)) throw new NetlinkError({ errno: 95, operation: 'datapath set' });
    this.features = f;
    if (f & U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU && c.perCpuPids) this.perCpuPids = [...c.perCpuPids];
    return this.dp();
  }

  async listVports(_dp: DpRef): Promise<Vport[]> {
    this.log.push('vport dump');
    return [...this.vports.keys()].map((n) => this.vport(n));
  }

  async setVport(_dp: DpRef, v: VportRef, c: VportChanges): Promise<Vport> {
    const portNo = v as number;
    this.log.push(`vport set ${portNo} [${(c.upcallPids ?? []).join(',')}]`);
    const port = this.vports.get(portNo);
    if (!port) throw new NetlinkError({ errno: 19, operation: 'vport set' });
    if (c.upcallPids) port.pids = [...c.upcallPids];
    return this.vport(portNo);
  }
}
