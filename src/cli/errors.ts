// Turning failures into the one line an operator reads. Where ovs-dpctl has
// an error line, ovsnl prints the same line ("updating flow table (File
// exists)"); what ovsnl knows beyond it (the kernel's reason, that a write
// needs CAP_NET_ADMIN) follows after the closing parenthesis, so scripts
// matching ovs-dpctl's text keep matching.
import { MalformedError, NetlinkError } from '../netlink/errors.js';
import { errnoDescription, errnoValue } from '../netlink/errno.js';

/** A CLI-level failure with the exact text to print after "ovsnl: " (nothing when empty). */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Errno names that mean "not allowed": the fix is the same for both. */
const PERMISSION = new Set(['EPERM', 'EACCES']);

function codeOf(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | undefined)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** strerror() of the failure, as ovs-dpctl prints it in parentheses. */
export function strerror(err: unknown): string {
  if (err instanceof NetlinkError) return err.description;
  const code = codeOf(err);
  if (code && errnoValue(code) !== undefined) return errnoDescription(errnoValue(code)!);
  return err instanceof Error ? err.message : String(err);
}

/**
 * Whose words an extended-ack message is. The userspace daemon answers with
 * the module's reasons in the extended ack; they must not read as the kernel's.
 */
let extAckSource = 'kernel';

/** Set by the CLI once it knows which datapath it talks to. */
export function setExtAckSource(side: 'kernel' | 'userspace'): void {
  extAckSource = side === 'kernel' ? 'kernel' : 'userspace datapath';
}

/** What ovsnl can add to ovs-dpctl's line: the kernel's reason, or how to get permission. */
export function errorDetail(err: unknown): string | undefined {
  const code = codeOf(err);
  if (code && PERMISSION.has(code)) return 'this needs root or CAP_NET_ADMIN';
  const log = (err as { kernelLog?: unknown } | undefined)?.kernelLog;
  if (Array.isArray(log)) return log.length ? `openvswitch module: ${log.join('; ')}` : 'the openvswitch module gives its reason only in the kernel log: see dmesg';
  if (err instanceof NetlinkError && err.extAck.message) return `${extAckSource}: ${err.extAck.message}`;
  // Refusals made before sending say why after the operation's name.
  const op = err instanceof NetlinkError ? err.operation : undefined;
  const at = op ? op.indexOf(': ') : -1;
  if (op && at >= 0) return op.slice(at + 2);
  return undefined;
}

/** `context (strerror)[: detail]`, ovs-dpctl's dpctl_error() line plus what the kernel said. */
export function dpctlMessage(context: string, err?: unknown): string {
  if (err === undefined) return context;
  const detail = errorDetail(err);
  return `${context} (${strerror(err)})${detail ? `: ${detail}` : ''}`;
}

/** A CliError carrying ovs-dpctl's line for this failure. */
export function dpctlError(context: string, err?: unknown): CliError {
  return new CliError(dpctlMessage(context, err));
}

/** The errno of a failure, for the few places that branch on it. */
export function errnoOf(err: unknown): string | undefined {
  return codeOf(err);
}

export function describeFailure(err: unknown): string {
  // ModuleMissingError by name: its module is loaded only with the kernel side.
  if (err instanceof CliError || err instanceof MalformedError || (err instanceof Error && err.name === 'ModuleMissingError')) return err.message;
  if (err instanceof NetlinkError) {
    if (PERMISSION.has(err.code)) {
      return `${err.operation ?? 'request'}: permission denied (${err.code}): this needs root or CAP_NET_ADMIN`;
    }
    return err.message;
  }
  const e = err as { code?: string; message?: string };
  if (e && (e.code === 'EPERM' || e.code === 'EACCES')) return `${e.message}: this needs root or CAP_NET_ADMIN`;
  return e?.message ?? String(err);
}
