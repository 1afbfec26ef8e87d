// Attributes that only OVS's userspace datapath understands. The kernel
// either rejects them or, worse, reads their numbers as something else
// (tunnel attribute 16 is IPV4_INFO_BRIDGE there), so the kernel layer must
// refuse them up front with these names in the message.
import type { Action } from './actions.js';
import type { FlowKey, TunnelKey } from './keys.js';
import { OVS_HASH_ALG_SYM_L4 } from './uapi-actions.js';

function tunnelNames(t: TunnelKey, where: string, out: string[]): void {
  if (t.gtpuOpts !== undefined) out.push(`${where}tunnel.gtpu`);
  if (t.vxlanOpts?.gpe) out.push(`${where}tunnel.vxlan.gpe`);
}

function keyNames(k: FlowKey, where: string, out: string[]): void {
  if (k.packetType !== undefined) out.push(`${where}packet_type`);
  if (k.ndExtensions !== undefined) out.push(`${where}nd_ext`);
  if (k.tunnel) tunnelNames(k.tunnel, where, out);
  if (k.encap) keyNames(k.encap, `${where}encap.`, out);
}

function actionNames(list: readonly Action[], where: string, out: string[]): void {
  for (const a of list) {
    switch (a.type) {
      case 'tnlPush':
        out.push(`${where}tnl_push`);
        break;
      case 'tnlPop':
        out.push(`${where}tnl_pop`);
        break;
      case 'lbOutput':
        out.push(`${where}lb_output`);
        break;
      case 'hash':
        if (a.alg === OVS_HASH_ALG_SYM_L4) out.push(`${where}hash(sym_l4)`);
        break;
      case 'set':
        keyNames(a.key, `${where}set.`, out);
        break;
      case 'setMasked':
        keyNames(a.key, `${where}set.`, out);
        keyNames(a.mask, `${where}set.`, out);
        break;
      case 'sample':
        actionNames(a.actions, `${where}sample.`, out);
        break;
      case 'clone':
        actionNames(a.actions, `${where}clone.`, out);
        break;
      case 'decTtl':
        actionNames(a.actions, `${where}dec_ttl.`, out);
        break;
      case 'checkPktLen':
        actionNames(a.gt, `${where}check_pkt_len.gt.`, out);
        actionNames(a.le, `${where}check_pkt_len.le.`, out);
        break;
      default:
    }
  }
}

/**
 * The OVS-userspace-only attributes in a key, mask or action list, by their
 * ODP names with the path to them (e.g. `packet_type`, `encap.nd_ext`,
 * `clone.tnl_push`, `set.tunnel.gtpu`). Empty means the kernel can take it.
 */
export function userspaceOnlyAttrs(x: FlowKey | readonly Action[]): string[] {
  const out: string[] = [];
  if (Array.isArray(x)) actionNames(x as readonly Action[], '', out);
  else keyNames(x as FlowKey, '', out);
  return [...new Set(out)];
}

/**
 * A key (or mask) without OVS_KEY_ATTR_PACKET_TYPE, as ovs-vswitchd sends it
 * to the kernel (lib/dpif-netlink.c put_exclude_packet_type): without an
 * Ethernet header the packet type's ethertype becomes eth_type, in place if
 * there is one. Apply it to the key and to the mask alike.
 */
export function withoutPacketType(key: FlowKey): FlowKey {
  const pt = key.packetType;
  if (pt === undefined) return key;
  const out: FlowKey = {};
  for (const [name, v] of Object.entries(key)) {
    if (name !== 'packetType') (out as Record<string, unknown>)[name] = v;
  }
  if (out.ethernet === undefined) out.ethertype = pt.id;
  return out;
}
