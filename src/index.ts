// ovsnl's public API.
export * from './netlink/index.js';
export * from './ovs/families.js';
export * from './ovs/uapi.js';
export * from './ovs/datapath.js';
export * from './ovs/vport.js';
export * from './ovs/flow.js';
export * from './ovs/packet.js';
export * from './ovs/meter.js';
export * from './ovs/ct-limit.js';
export * from './ovs/ufid.js';
export * from './ovs/structs.js';
export * from './dpif/index.js';
export { KmsgReader } from './dpif/kmsg.js';
export { findVswitchd, vswitchdWarning } from './dpif/vswitchd.js';
export * from './ovs/index.js';
export * from './odp/index.js';
export * as packet from './packet/index.js';
export * from './dpif/upcalls.js';
