// The kernel Dpif refuses, before sending, flows and executes that carry
// attributes only OVS's userspace datapath has: the module would answer with
// a bare EINVAL, or misread a reused number, and never say which one.
import { NetlinkError } from '../netlink/errors.js';
import { describeUserspaceOnly, findUserspaceOnlyAttrs, type ScanOptions } from '../ovs/userspace-only-raw.js';

const EOPNOTSUPP = 95;

/** A NetlinkError EOPNOTSUPP naming each userspace-only attribute, or undefined when there is none. */
export function userspaceOnlyError(
  operation: string | (() => string),
  streams: { key?: Uint8Array; mask?: Uint8Array; actions?: Uint8Array },
  opts: ScanOptions = {},
): NetlinkError | undefined {
  const found = findUserspaceOnlyAttrs(streams, opts);
  if (!found.length) return undefined;
  // A function: the name is only worth building for a refusal (bulk puts).
  if (typeof operation === 'function') operation = operation();
  const them = found.length === 1 ? 'it exists' : 'they exist';
  return new NetlinkError({
    errno: EOPNOTSUPP,
    operation: `${operation}: ${describeUserspaceOnly(found)}: ${them} only in OVS's userspace datapath, not in the kernel module (nothing was sent)`,
  });
}
