// The flow key, mask and action models and their attribute codecs.
// (The family codecs, datapath/vport/flow/packet/meter/ct_limit, live beside
// these files and are exported by their own modules.)
export * from './addr.js';
export * from './keys.js';
export * from './actions.js';
export * from './uapi-keys.js';
export * from './uapi-actions.js';
export { encodeKey, encodeMask, decodeKey, decodeMask, decodeKeyField, encodeKeyField, keyFieldPayload, keyFieldType, vlanTci, vlanFromTci, mplsLseValue, mplsLseFromValue, VLAN_CFI } from './key-codec.js';
export { encodeTunnelAttrs, decodeTunnelAttrs } from './tunnel-codec.js';
export { encodeNshAttrs, decodeNshAttrs } from './nsh-codec.js';
export { encodeActions, decodeActions, encodeAction, decodeAction } from './action-codec.js';
export { userspaceOnlyAttrs, withoutPacketType } from './userspace-only.js';
export { u128FromBytes, u128IntoBytes, U128_MAX, U64_MAX } from './packing.js';
