// The network devices behind ports, over rtnetlink (src/rtnl): whether a
// device exists, bringing it up as ovs-dpctl does after add-if, and the
// tunnel devices ovs-dpctl 3.1 makes for vxlan/geneve/gre ports (not a
// tunnel vport, but the kernel's own vxlan_sys_4789 / genev_sys_6081 /
// gre_sys device in external mode, added as a netdev port). src/rtnl loads
// when a port command needs it.
import { existsSync } from 'node:fs';

export type TunnelType = 'vxlan' | 'geneve' | 'gre';

export async function ensureTunnelDevice(type: TunnelType, dstPort?: number, remoteIp?: string, gbp?: boolean): Promise<{ name: string; created: boolean }> {
  const { ensureTunnelDevice } = await import('../rtnl/tunnel.js');
  return ensureTunnelDevice({ type, dstPort, remoteIp, gbp });
}

export async function removeTunnelDevice(name: string): Promise<void> {
  const { removeTunnelDevice } = await import('../rtnl/tunnel.js');
  await removeTunnelDevice(name);
}

export function isKernelTunnelType(type: string): type is TunnelType {
  return type === 'vxlan' || type === 'geneve' || type === 'gre';
}

/** Whether a network device of this name exists in this namespace. */
export async function deviceExists(name: string): Promise<boolean> {
  if (!name || name.includes('/') || name === '.' || name === '..') return false;
  const { withRoute, getLink } = await import('../rtnl/link.js');
  try {
    return (await withRoute((conn) => getLink(conn, name))) !== undefined;
  } catch {
    // A name rtnetlink refuses (too long...) names no device; sysfs has the last word.
    return existsSync(`/sys/class/net/${name}`);
  }
}

/** IFF_UP on the device, as ovs-dpctl's add-if does. */
export async function setDeviceUp(name: string): Promise<void> {
  const { withRoute, setLinkUp } = await import('../rtnl/link.js');
  await withRoute((conn) => setLinkUp(conn, name, true));
}
