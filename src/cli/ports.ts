// add-if, set-if, del-if: IFACE is NAME[,type=T][,port_no=N][,KEY=VALUE...]
// (lib/dpctl.c dpctl_add_if and friends). Types: system (a device that
// exists; ovsnl also takes `netdev`, the kernel's name for it), internal (the
// kernel makes the device), and vxlan / geneve / gre, which become the
// kernel's tunnel device added as a netdev port, as ovs-dpctl 3.1 does.
import type { Datapath, Vport } from '../dpif/dpif.js';
import { ipv4ToU32OrNeg, ipv6IntoBytes } from '../ovs/addr.js';
import type { Ctx } from './context.js';
import { openDatapath } from './dpname.js';
import { dpctlMessage, strerror } from './errors.js';
import { deviceExists, ensureTunnelDevice, isKernelTunnelType, removeTunnelDevice, setDeviceUp } from './netdev.js';
import { isTunnelType, portConfig, portType, tunnelTypeFromName } from './port-types.js';

/** strtok_r: the non-empty pieces between separators. */
function strtok(s: string, sep: string): string[] {
  return s.split(new RegExp(`[${sep.replace(/[\]\\^-]/g, '\\$&')}]`)).filter((t) => t.length > 0);
}

export interface IfaceSpec {
  name: string;
  type: string;
  portNo?: number;
  /** Options in the order given (duplicates dropped, as smap_add_once does). */
  options: [string, string][];
}

/** One key=value option as dpctl splits it: key up to the first "=", value the rest ("" without one). */
function splitOption(option: string): [string, string] {
  const trimmed = option.replace(/^=+/, '');
  const eq = trimmed.indexOf('=');
  return eq < 0 ? [trimmed, ''] : [trimmed.slice(0, eq), trimmed.slice(eq + 1)];
}

/** C's atoi. */
function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1], 10) | 0 : 0;
}

/** Parses IFACE; prints dpctl's complaints (duplicates) through ctx; undefined when there is no name. */
export function parseIface(ctx: Ctx, arg: string): IfaceSpec | undefined {
  const [name, ...opts] = strtok(arg, ',');
  if (!name) return undefined;
  const spec: IfaceSpec = { name, type: 'system', options: [] };
  for (const option of opts) {
    const [key, value] = splitOption(option);
    if (key === 'type') spec.type = value;
    else if (key === 'port_no') spec.portNo = atoi(value) >>> 0;
    else if (spec.options.some(([k]) => k === key)) ctx.error(`duplicate "${key}" option`);
    else spec.options.push([key, value]);
  }
  return spec;
}

/** A tunnel address option: "flow" or an IPv4/IPv6 address. */
function validTunnelIp(v: string): boolean {
  return v === 'flow' || ipv4ToU32OrNeg(v) >= 0 || !!ipv6IntoBytes(v, new Uint8Array(16));
}

const TUNNEL_KEYS = new Set([
  'remote_ip', 'local_ip', 'tos', 'ttl', 'df_default', 'key', 'in_key', 'out_key', 'packet_type', 'egress_pkt_mark',
  'erspan_idx', 'erspan_ver', 'erspan_dir', 'erspan_hwid', 'remote_cert', 'remote_name', 'psk',
]);

/**
 * set_tunnel_config's checks (lib/netdev-vport.c): warnings for what it
 * ignores, and the error that refuses the port. Returns the UDP port.
 */
export function checkTunnelConfig(name: string, type: string, options: [string, string][]): { warnings: string[]; error?: string; dstPort?: number; gbp?: boolean } {
  const warnings: string[] = [];
  let remote: string | undefined;
  let local: string | undefined;
  let dstPort: number | undefined;
  let gbp = false;
  for (const [k, v] of options) {
    if (k === 'remote_ip') {
      if (validTunnelIp(v)) remote = v;
      else warnings.push(`${name}: bad ${type} 'remote_ip'`);
    } else if (k === 'local_ip') {
      if (validTunnelIp(v)) local = v;
      else warnings.push(`${name}: bad ${type} 'local_ip'`);
    } else if (k === 'dst_port' && type !== 'gre') {
      dstPort = atoi(v) & 0xffff;
    } else if (k === 'exts' && type === 'vxlan') {
      // The extensions the device is made with; the last exts= wins, as in OVS.
      gbp = false;
      for (const ext of v.split(',').filter(Boolean)) {
        if (ext === 'gbp') gbp = true;
        else if (ext !== 'gpe') warnings.push(`${name}: unknown extension '${ext}'`);
      }
    } else if (k === 'csum' || (k === 'seq' && type === 'gre')) {
      // Accepted; they configure OVS's own tunnel handling, not the device.
    } else if (!TUNNEL_KEYS.has(k)) {
      warnings.push(`${name}: unknown ${type} argument '${k}'`);
    }
  }
  const pt = options.find(([k]) => k === 'packet_type')?.[1];
  if (pt !== undefined && !['legacy_l2', 'legacy_l3', 'ptap'].includes(pt)) return { warnings, error: `${name}: unknown packet_type '${pt}'` };
  if (pt === 'legacy_l3' && type !== 'gre') {
    return { warnings, error: `${name}: legacy_l3 configured on ${type === 'vxlan' ? 'VXLAN (without GPE)' : type} tunnel that cannot carry L3 traffic` };
  }
  if (remote === undefined) return { warnings, error: `${name}: ${type} type requires valid 'remote_ip' argument` };
  if (local === 'flow' && remote !== 'flow') return { warnings, error: `${name}: ${type} type requires 'remote_ip=flow' with 'local_ip=flow'` };
  return gbp ? { warnings, dstPort: dstPort || undefined, gbp } : { warnings, dstPort: dstPort || undefined };
}

const KNOWN_OTHER_TYPES = new Set(['tap', 'patch', 'lisp', 'stt', 'erspan', 'ip6erspan', 'ip6gre', 'gtpu', 'bareudp', 'srv6', 'dummy', 'dummy-internal', 'dummy-pmd', 'afxdp', 'afxdp-nonpmd', 'dpdk', 'dpdkvhostuser', 'dpdkvhostuserclient']);

/** dpctl_add_if over a datapath already opened; `dpArg` is the name as given, for messages. */
export async function addIfaces(ctx: Ctx, dp: Datapath, dpArg: string, ifaces: string[]): Promise<void> {
  const dpif = await ctx.dpif();
  for (const arg of ifaces) {
    const spec = parseIface(ctx, arg);
    if (!spec) {
      ctx.error(`${arg} is not a valid network device name`);
      continue;
    }
    const { name, type } = spec;
    let vportName = name;
    let kernelType: 'netdev' | 'internal' | 'vxlan' | 'geneve' | 'gre';
    let options: { dstPort: number; extensions?: { gbp: true } } | undefined;
    let deviceless = false;
    let createdTunnel: string | undefined;
    if (type === 'system' || type === 'netdev' || type === '') {
      if (!(await deviceExists(name))) {
        ctx.error(dpctlMessage(`${name}: failed to open network device`, { code: 'ENODEV' }));
        continue;
      }
      if (spec.options.length) ctx.warn(`${name}: arguments provided to device that is not configurable`);
      kernelType = 'netdev';
    } else if (type === 'internal') {
      if (spec.options.length) ctx.warn(`${name}: arguments provided to device that is not configurable`);
      kernelType = 'internal';
    } else if (isKernelTunnelType(type)) {
      const check = checkTunnelConfig(name, type, spec.options);
      for (const w of check.warnings) ctx.warn(w);
      if (check.error) {
        ctx.error(check.error);
        continue;
      }
      if (ctx.side === 'userspace') {
        // The userspace datapath's own tunnel vport (raw IP sockets, no device),
        // named as the kernel device would be, so show and del-if read alike.
        const dstPort = type === 'gre' ? undefined : check.dstPort ?? (type === 'vxlan' ? 4789 : 6081);
        vportName = type === 'gre' ? 'gre_sys' : `${type === 'vxlan' ? 'vxlan_sys' : 'genev_sys'}_${dstPort}`;
        kernelType = type;
        options = dstPort === undefined ? undefined : check.gbp ? { dstPort, extensions: { gbp: true } } : { dstPort };
        deviceless = true;
      } else {
        try {
          const remote = spec.options.find(([k]) => k === 'remote_ip')?.[1];
          const dev = await ensureTunnelDevice(type, check.dstPort, remote, check.gbp);
          vportName = dev.name;
          if (dev.created) createdTunnel = dev.name;
        } catch (err) {
          ctx.error(dpctlMessage(`adding ${name} to ${dpArg} failed`, err));
          continue;
        }
        kernelType = 'netdev';
      }
    } else if (KNOWN_OTHER_TYPES.has(type)) {
      ctx.error(`adding ${name} to ${dpArg} failed (Operation not supported): ovsnl adds ports of type system, internal, vxlan, geneve and gre to the kernel datapath`);
      continue;
    } else {
      ctx.error(dpctlMessage(`${name}: failed to open network device`, { code: 'EAFNOSUPPORT' }));
      continue;
    }
    try {
      await dpif.createVport(dp.dpIfindex, { name: vportName, type: kernelType, portNo: spec.portNo, options });
    } catch (err) {
      if (createdTunnel) await removeTunnelDevice(createdTunnel).catch(() => undefined);
      ctx.error(dpctlMessage(`adding ${name} to ${dpArg} failed`, err));
      continue;
    }
    // A userspace tunnel port has no device to bring up.
    if (deviceless) continue;
    try {
      await setDeviceUp(vportName);
    } catch (err) {
      ctx.error(dpctlMessage(`${name}: failed bringing interface up`, err));
    }
  }
}

/** dpctl_set_if: only what OVS keeps in the kernel can change, and that is nothing but checks. */
export async function setIfaces(ctx: Ctx, dp: Datapath, dpArg: string, ifaces: string[]): Promise<void> {
  const dpif = await ctx.dpif();
  for (const arg of ifaces) {
    const [name, ...opts] = strtok(arg, ',');
    if (!name) {
      // ovs-dpctl reports it but leaves the exit status alone.
      const before = ctx.status;
      ctx.error(`${arg} is not a valid network device name`);
      ctx.status = before;
      continue;
    }
    let port: Vport;
    try {
      port = await dpif.getVport(dp.dpIfindex, name);
      if (port.dpIfindex !== dp.dpIfindex) throw Object.assign(new Error('in another datapath'), { code: 'ENODEV' });
    } catch (err) {
      ctx.error(dpctlMessage(`${name}: failed to query port in ${dpArg}`, err));
      continue;
    }
    const type = portType(port);
    const config = new Map(portConfig(port.name, type));
    let failed = false;
    for (const option of opts) {
      const [key, value] = splitOption(option);
      if (key === 'type') {
        if (value !== type) {
          ctx.error(`${name}: can't change type from ${type} to ${value}`);
          failed = true;
          break;
        }
      } else if (key === 'port_no') {
        if (port.portNo !== atoi(value) >>> 0) {
          ctx.error(`${name}: can't change port number from ${port.portNo} to ${atoi(value)}`);
          failed = true;
          break;
        }
      } else if (value === '') {
        config.delete(key);
      } else {
        config.set(key, value);
      }
    }
    if (failed) continue;
    if (isTunnelType(type)) {
      const check = checkTunnelConfig(name, type, [...config]);
      for (const w of check.warnings) ctx.warn(w);
      if (check.error) ctx.error(`${check.error} (Invalid argument)`);
    } else if (config.size) {
      // Reported like ovs-dpctl does, without failing.
      const before = ctx.status;
      ctx.error(`${name}: arguments provided to device that is not configurable`);
      ctx.status = before;
    }
  }
}

/** dpctl_del_if; also removes the tunnel device behind a tunnel port, as OVS does. */
export async function delIfaces(ctx: Ctx, dp: Datapath, dpArg: string, names: string[]): Promise<void> {
  const dpif = await ctx.dpif();
  for (const name of names) {
    let ref: string | number = name;
    if (/^\d*$/.test(name)) {
      ref = atoi(name) >>> 0;
    } else {
      try {
        const v = await dpif.getVport(dp.dpIfindex, name);
        if (v.dpIfindex !== dp.dpIfindex) throw new Error('in another datapath');
        ref = v.portNo;
      } catch {
        ctx.error(`no port named ${name}`);
        continue;
      }
    }
    let deleted: Vport;
    try {
      deleted = await dpif.deleteVport(dp.dpIfindex, ref);
    } catch (err) {
      ctx.error(dpctlMessage(`deleting port ${name} from ${dpArg} failed`, err));
      continue;
    }
    const type = portType(deleted);
    if (ctx.side === 'kernel' && tunnelTypeFromName(deleted.name) && isKernelTunnelType(type) && deleted.type !== undefined) {
      await removeTunnelDevice(deleted.name).catch((err: unknown) => ctx.warn(`${deleted.name}: could not remove the tunnel device (${strerror(err)})`));
    }
  }
}

async function withDp(ctx: Ctx, args: string[], fn: (dp: Datapath, dpArg: string, rest: string[]) => Promise<void>): Promise<void> {
  const dp = await openDatapath(ctx, args[0], 'opening datapath');
  await fn(dp, args[0], args.slice(1));
}

export const addIf = (ctx: Ctx, a: string[]): Promise<void> => withDp(ctx, a, (dp, n, r) => addIfaces(ctx, dp, n, r));
export const delIf = (ctx: Ctx, a: string[]): Promise<void> => withDp(ctx, a, (dp, n, r) => delIfaces(ctx, dp, n, r));
export const setIf = (ctx: Ctx, a: string[]): Promise<void> => withDp(ctx, a, (dp, n, r) => setIfaces(ctx, dp, n, r));
