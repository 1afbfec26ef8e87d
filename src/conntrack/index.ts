// The kernel datapath's conntrack over ctnetlink: entries, flushes, counts,
// and ovs-dpctl's text for them; and its timeout policies (cttimeout).
export * from './constants.js';
export * from './entry.js';
export * from './format.js';
export * from './match.js';
export * from './client.js';
export * from './timeout.js';
