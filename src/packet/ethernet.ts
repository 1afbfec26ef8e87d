// Ethernet, 802.1Q/802.1ad tags and 802.2 LLC/SNAP, read the way the kernel's
// parse_vlan() and parse_ethertype() read them, so a key built from the result
// equals the one ovs_flow_key_extract() reports.
import { be16, putBe16 } from './bytes.js';
import {
  ETH_HLEN,
  ETH_P_802_3_MIN,
  ETH_P_8021AD,
  ETH_P_8021Q,
  ETH_TYPE_NONE,
  LLC_SAP_SNAP,
  LLC_SNAP_HLEN,
} from './constants.js';
import { Layer, type ParsedPacket } from './result.js';

export function isVlanTpid(t: number): boolean {
  return t === ETH_P_8021Q || t === ETH_P_8021AD;
}

/**
 * Fills the L2 fields and p.l3. A frame shorter than 14 bytes has no Ethernet
 * layer (the kernel never sees one: it needs ETH_HLEN before key extraction).
 */
export function parseEthernet(p: ParsedPacket): void {
  const b = p.buf;
  const len = p.len;
  if (len < ETH_HLEN) {
    p.truncated = Layer.ETH;
    return;
  }
  p.layers = Layer.ETH;
  let off = 12;
  let type = be16(b, off);
  if (isVlanTpid(type)) {
    // A tag needs its TCI and the next type field behind it; without both the
    // kernel does not take it as a tag and the TPID stands as the EtherType.
    if (len - off < 6) {
      p.truncated = Layer.VLAN;
    } else {
      p.vlanTpid = type;
      p.vlanTci = be16(b, off + 2);
      p.layers |= Layer.VLAN;
      off += 4;
      type = be16(b, off);
      // Only two tags are tags; a third TPID is the EtherType.
      if (isVlanTpid(type)) {
        if (len - off < 6) {
          p.truncated = Layer.CVLAN;
        } else {
          p.cvlanTpid = type;
          p.cvlanTci = be16(b, off + 2);
          p.layers |= Layer.CVLAN;
          off += 4;
          type = be16(b, off);
        }
      }
    }
  }
  off += 2;
  if (type >= ETH_P_802_3_MIN) {
    p.ethType = type;
    p.l3 = off;
    return;
  }
  // An 802.3 length: 802.2 LLC follows. Only SNAP with a zero OUI carries an
  // EtherType; the control byte is not checked, as the kernel does not.
  p.layers |= Layer.LLC;
  p.ethType = ETH_TYPE_NONE;
  if (
    len - off >= LLC_SNAP_HLEN &&
    b[off] === LLC_SAP_SNAP &&
    b[off + 1] === LLC_SAP_SNAP &&
    (b[off + 3] | b[off + 4] | b[off + 5]) === 0
  ) {
    p.layers |= Layer.SNAP;
    const snapType = be16(b, off + 6);
    off += LLC_SNAP_HLEN;
    if (snapType >= ETH_P_802_3_MIN) p.ethType = snapType;
  }
  p.l3 = off;
}

/** Writes destination and source MACs; returns the offset of the type field. */
export function writeEthAddrs(b: Uint8Array, off: number, dst: Uint8Array, src: Uint8Array): number {
  b.set(dst.subarray(0, 6), off);
  b.set(src.subarray(0, 6), off + 6);
  return off + 12;
}

/** Writes a tag (TPID, TCI); returns the offset after it. */
export function writeVlanTag(b: Uint8Array, off: number, tpid: number, tci: number): number {
  putBe16(b, off, tpid);
  putBe16(b, off + 2, tci);
  return off + 4;
}

/** Writes an LLC/SNAP header (DSAP, SSAP, control, OUI, type); returns the offset after it. */
export function writeLlcSnap(b: Uint8Array, off: number, oui: number, type: number, ctrl = 0x03): number {
  b[off] = LLC_SAP_SNAP;
  b[off + 1] = LLC_SAP_SNAP;
  b[off + 2] = ctrl;
  b[off + 3] = oui >>> 16;
  b[off + 4] = oui >>> 8;
  b[off + 5] = oui;
  putBe16(b, off + 6, type);
  return off + LLC_SNAP_HLEN;
}
