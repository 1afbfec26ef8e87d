export * from './dpif.js';
export { KernelDpif, DEFAULT_USER_FEATURES, type KernelDpifOptions } from './kernel.js';
