// How ovs-dpctl names a port's type and shows its configuration. A kernel
// NETDEV vport is "system", unless its name is that of a tunnel device OVS
// makes (vxlan_sys_4789, genev_sys_6081, gre_sys...): then it is that tunnel
// type (lib/netdev.c netdev_vport_type_from_name). A tunnel port's
// configuration is what a fresh OVS process knows of it: its UDP port from the
// device name when not the default, and `packet_type=ptap` (lib/netdev-vport.c
// get_tunnel_config), since ovs-dpctl keeps no state between runs.
import type { Vport } from '../dpif/dpif.js';
import * as U from '../ovs/uapi.js';
import { vportTypeName } from '../ovs/vport.js';

/** OVS's tunnel classes: device-name prefix ("dpif_port") and type. */
const TUNNEL_CLASSES: readonly (readonly [prefix: string, type: string, defaultPort?: number])[] = [
  ['genev_sys', 'geneve', 6081],
  ['gre_sys', 'gre'],
  ['vxlan_sys', 'vxlan', 4789],
  ['lisp_sys', 'lisp', 4341],
  ['stt_sys', 'stt', 7471],
  ['erspan_sys', 'erspan'],
  ['ip6erspan_sys', 'ip6erspan'],
  ['ip6gre_sys', 'ip6gre'],
  ['gtpu_sys', 'gtpu', 2152],
  ['udp_sys', 'bareudp', 0],
];

/** The tunnel type OVS infers from a device name, if any. */
export function tunnelTypeFromName(name: string): string | undefined {
  return TUNNEL_CLASSES.find(([prefix]) => name.startsWith(prefix))?.[1];
}

export function isTunnelType(type: string): boolean {
  return TUNNEL_CLASSES.some(([, t]) => t === type);
}

/** dpif-netlink get_vport_type(): "system", "internal", "vxlan"... */
export function portType(v: Pick<Vport, 'type' | 'name'>): string {
  switch (v.type) {
    case U.OVS_VPORT_TYPE_NETDEV:
      return tunnelTypeFromName(v.name) ?? 'system';
    case U.OVS_VPORT_TYPE_INTERNAL:
      return 'internal';
    case U.OVS_VPORT_TYPE_UNSPEC:
      return 'unknown';
    default: {
      const t = vportTypeName(v.type);
      return t.startsWith('type') ? 'unknown' : t;
    }
  }
}

/** The configuration ovs-dpctl's `show` prints for a port of this type, sorted by key. */
export function portConfig(name: string, type: string): [string, string][] {
  const cls = TUNNEL_CLASSES.find(([, t]) => t === type);
  if (!cls) return [];
  const [prefix, , defaultPort] = cls;
  const out: [string, string][] = [];
  if (defaultPort !== undefined) {
    // netdev_vport_construct: a port number after "<prefix>_" in the name, else the default.
    let fromName = 0;
    if (name.length > prefix.length + 1 && name.startsWith(prefix)) fromName = atoi(name.slice(prefix.length + 1));
    const port = (type === 'bareudp' ? fromName : fromName || defaultPort) & 0xffff;
    if (port && (type === 'bareudp' || port !== defaultPort)) out.push(['dst_port', String(port)]);
  }
  if (type === 'erspan' || type === 'ip6erspan') out.push(['erspan_ver', '0']);
  out.push(['packet_type', 'ptap']);
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** C's atoi: leading blanks, a sign, digits; 0 when there are none. */
function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1], 10) | 0 : 0;
}

/** ` (type)`, ` (type: k=v, k=v)` or nothing for a system port. */
export function portTypeSuffix(name: string, type: string): string {
  if (type === 'system') return '';
  if (type === 'unknown') return ' (unknown: open failed (Address family not supported by protocol))';
  const cfg = portConfig(name, type);
  return ` (${type}${cfg.map(([k, v], i) => `${i ? ',' : ':'} ${k}=${v}`).join('')})`;
}
