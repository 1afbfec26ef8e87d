// ovsnl's public API.
export * from './netlink/index.js';
