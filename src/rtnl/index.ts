// rtnetlink: links (get, list, create, delete, up, MTU), OVS tunnel devices, veth pairs.
export * from './constants.js';
export * from './link.js';
export * from './tunnel.js';
export * from './veth.js';
