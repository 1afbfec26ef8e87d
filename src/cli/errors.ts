// Turning failures into the one line an operator reads.
import { MalformedError, NetlinkError } from '../netlink/errors.js';
import { ModuleMissingError } from '../ovs/families.js';

/** A CLI-level failure with the exact text to print after "ovsnl: ". */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function describeFailure(err: unknown): string {
  if (err instanceof CliError || err instanceof ModuleMissingError || err instanceof MalformedError) return err.message;
  if (err instanceof NetlinkError) {
    if (err.code === 'EPERM' || err.code === 'EACCES') {
      return `${err.operation ?? 'request'}: permission denied (${err.code}): this needs root or CAP_NET_ADMIN`;
    }
    return err.message;
  }
  const e = err as { code?: string; message?: string };
  if (e && (e.code === 'EPERM' || e.code === 'EACCES')) return `${e.message}: this needs root or CAP_NET_ADMIN`;
  return e?.message ?? String(err);
}
