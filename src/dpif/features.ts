// What this kernel's openvswitch module supports, learnt the way
// ovs-vswitchd learns it: user-feature bits tried on the datapath, and small
// flows installed with OVS_FLOW_ATTR_PROBE (accepted = supported; the kernel
// does not log the refusals) and deleted again. Running the probes changes
// the flow table for a moment, so it happens only when a datapath is created
// or when asked, never on a read.
import { NetlinkError } from '../netlink/errors.js';
import { ACTION_FEATURES, KEY_FEATURES, featureProbes, type ActionFeature, type FlowProbe, type KeyFeature } from '../ovs/probe.js';

export type { ActionFeature, KeyFeature } from '../ovs/probe.js';

/** What a datapath's user features (OVS_DP_ATTR_USER_FEATURES) may hold on this kernel. */
export interface DatapathFeatures {
  /**
   * The kernel refuses OVS_DP_F_* bits it does not know (EOPNOTSUPP). Kernels
   * that do not (before 5.14) accept any bit silently, so a bit they took says
   * nothing: then `perCpuDispatch` is false and datapaths use the standard
   * features (unaligned, per-vport pids), as ovs-vswitchd does.
   */
  rejectsUnknownUserFeatures: boolean;
  /** OVS_DP_F_DISPATCH_UPCALL_PER_CPU: upcalls go to a port id per CPU (OVS_DP_ATTR_PER_CPU_PIDS). */
  perCpuDispatch: boolean;
}

export interface KernelFeatures extends DatapathFeatures {
  /** OVS_VPORT_ATTR_UPCALL_STATS in vport replies (Linux 6.2). */
  vportUpcallStats: boolean;
  /** The ovs_meter family is registered (Linux 4.15). */
  meters: boolean;
  /** The ovs_ct_limit family is registered (Linux 4.18). */
  ctLimits: boolean;
  /** The deepest MPLS label stack a flow key may match (the kernel: 3; 0 if none). */
  maxMplsLabels: number;
  /** Key attributes a flow may match on. */
  keys: Record<KeyFeature, boolean>;
  /** Actions (and action options) a flow may use. */
  actions: Record<ActionFeature, boolean>;
}

/** The requests the probes need, provided by the kernel Dpif. */
export interface ProbeTarget {
  /** Installs the flow as a probe; true if the kernel took it (it is deleted again), false if it refused it as unsupported. */
  tryFlow(probe: FlowProbe): Promise<boolean>;
}

const EINVAL = 22;
const E2BIG = 7;
const ERANGE = 34;
const EOVERFLOW = 75;
const EOPNOTSUPP = 95;
/** The kernel-internal ENOTSUPP, which leaks to userspace from some action validators. */
const ENOTSUPP = 524;
const UNSUPPORTED = new Set([EINVAL, E2BIG, ERANGE, EOVERFLOW, EOPNOTSUPP, ENOTSUPP]);

/** Whether a probe's failure means "not supported" rather than a broken request (ENODEV, EPERM...). */
export function isUnsupported(err: unknown): boolean {
  return err instanceof NetlinkError && UNSUPPORTED.has(err.errno);
}

export interface FlowFeatures {
  maxMplsLabels: number;
  keys: Record<KeyFeature, boolean>;
  actions: Record<ActionFeature, boolean>;
}

/** Runs every flow probe at once (they are independent) and sums up the answers. */
export async function probeFlowFeatures(target: ProbeTarget): Promise<FlowFeatures> {
  const probes = featureProbes();
  const ok = await Promise.all(probes.map((p) => target.tryFlow(p)));
  const keys = Object.fromEntries(KEY_FEATURES.map((k) => [k, false])) as Record<KeyFeature, boolean>;
  const actions = Object.fromEntries(ACTION_FEATURES.map((a) => [a, false])) as Record<ActionFeature, boolean>;
  let maxMplsLabels = 0;
  probes.forEach((p, i) => {
    const f = p.feature;
    if (f.kind === 'key') keys[f.name] = ok[i];
    else if (f.kind === 'action') actions[f.name] = ok[i];
    // Depth counts only while every shallower stack was taken too.
    else if (ok[i] && f.labels === maxMplsLabels + 1) maxMplsLabels = f.labels;
  });
  return { maxMplsLabels, keys, actions };
}

/** Names of the supported (or, with `want` false, unsupported) features, for logs and the CLI. */
export function featureNames(f: KernelFeatures, want = true): string[] {
  const out: string[] = [];
  const add = (name: string, has: boolean): void => {
    if (has === want) out.push(name);
  };
  add('per-cpu-dispatch', f.perCpuDispatch);
  add('vport-upcall-stats', f.vportUpcallStats);
  add('meters', f.meters);
  add('ct-limits', f.ctLimits);
  for (const [k, v] of Object.entries(f.keys)) add(`key:${k}`, v);
  for (const [k, v] of Object.entries(f.actions)) add(`action:${k}`, v);
  return out;
}
