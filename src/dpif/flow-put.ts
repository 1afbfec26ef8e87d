// A FlowPut turned into its request, checked before anything is sent, and
// the request's error named after the flow. Split from kernel.ts because
// bulk installs run through here once per flow: the operation name (with
// the UFID in text) is built only when a request fails.
import { NLM_F_CREATE, NLM_F_ECHO } from '../netlink/constants.js';
import { NetlinkError } from '../netlink/errors.js';
import type { FlowPutRequest } from '../ovs/flow-put-encode.js';
import { formatUfid } from '../ovs/ufid.js';
import * as U from '../ovs/uapi.js';
import type { FlowPut } from './dpif.js';
import { withKernelLog, type KernelLog } from './kernel-log.js';
import { userspaceOnlyError } from './kernel-only.js';

/** "flow new ufid:...", "flow set": what errors are named after. */
export function describePut(f: FlowPut): string {
  return `flow ${f.mode === 'modify' ? 'set' : 'new'}${f.ufid ? ` ${formatUfid(f.ufid)}` : ''}`;
}

/** The operation requests are sent under; errors are renamed with describePut(). */
export const FLOW_PUT_OPERATION = 'flow put';

/**
 * The request for a put. Throws TypeError for a put that makes no sense and
 * NetlinkError EOPNOTSUPP for userspace-only attributes: nothing is sent.
 */
export function flowPutRequest(f: FlowPut, allowSymL4: boolean): FlowPutRequest {
  const mode = f.mode ?? 'create';
  if (mode !== 'modify' && !f.actions) throw new TypeError(`${describePut(f)}: actions are required to ${mode} a flow`);
  const refusal = f.kernelChecked ? undefined : userspaceOnlyError(() => describePut(f), f, { allowSymL4 });
  if (refusal) throw refusal;
  return {
    cmd: mode === 'modify' ? U.OVS_FLOW_CMD_SET : U.OVS_FLOW_CMD_NEW,
    // NLM_F_CREATE is what the kernel reads as "exclusive" (NLM_F_EXCL would make generic netlink see a dump).
    flags: (mode === 'create' ? NLM_F_CREATE : 0) | (f.echo ? NLM_F_ECHO : 0),
    // The put itself: its fields are the request's attributes, and a copy per flow costs on bulk puts.
    attrs: f,
  };
}

/** A put's failure, named after its flow, with the module's log lines on EINVAL. */
export function flowPutError(err: unknown, f: FlowPut, log: KernelLog | undefined, logMark: number): unknown {
  if (!(err instanceof NetlinkError)) return err;
  const named = new NetlinkError({ errno: err.errno, operation: describePut(f), seq: err.seq, extAck: err.extAck, cause: err.cause });
  // A probe asked the kernel not to log: there is nothing to read.
  return f.probe ? named : withKernelLog(named, log, logMark);
}
