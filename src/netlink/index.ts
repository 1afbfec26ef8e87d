export * from './attr.js';
export * from './constants.js';
export * from './errors.js';
export { errnoName, errnoValue, errnoDescription } from './errno.js';
export * from './message.js';
export * from './socket.js';
export * from './connection.js';
export * from './genl.js';
export { describeMessage, debugEnabled, registerFamily } from './debug.js';
