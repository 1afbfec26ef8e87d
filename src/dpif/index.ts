export * from './dpif.js';
export { KernelDpif, DEFAULT_USER_FEATURES, type KernelDpifOptions } from './kernel.js';
export { OvsEvents, type OvsEventsOptions, type OvsEventsStats, type OvsEventItem, type EventsOverrun } from './events.js';
export type { OvsEvent, OvsEventCmd, OvsEventFamily, DatapathEvent, VportEvent, FlowEvent, MeterEvent } from './notification.js';
export { decodeNotification } from './notification.js';
export { KernelRejectError } from './kernel-log.js';
export { HostWarnings, type HostWarningsOptions } from './host-warnings.js';
export { findUserspaceOnlyAttrs, type UserspaceOnlyAttr } from '../ovs/userspace-only-raw.js';
