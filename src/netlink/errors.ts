import { errnoDescription, errnoName } from './errno.js';

/** What the kernel said beyond the errno, from the extended ack TLVs. */
export interface ExtendedAck {
  /** NLMSGERR_ATTR_MSG: the kernel's human-readable reason. */
  message?: string;
  /** NLMSGERR_ATTR_OFFS: byte offset of the offending attribute in the request. */
  offset?: number;
  /** NLMSGERR_ATTR_MISS_TYPE: type of a required attribute that was missing. */
  missingType?: number;
  /** NLMSGERR_ATTR_MISS_NEST: offset of the nest that lacked it. */
  missingNest?: number;
  /** NLMSGERR_ATTR_COOKIE, raw. */
  cookie?: Uint8Array;
  /** NLMSGERR_ATTR_POLICY, raw nested policy description. */
  policy?: Uint8Array;
}

export interface NetlinkErrorInit {
  /** Positive errno value. */
  errno: number;
  /** What was being done ("resolve family ovs_flow", "flow new"). */
  operation?: string;
  seq?: number;
  extAck?: ExtendedAck;
  cause?: unknown;
}

/**
 * A request the kernel (or the transport) refused. `code` is the errno name so
 * callers can write `err.code === 'ENOENT'`, as with Node's own errors.
 */
export class NetlinkError extends Error {
  override readonly name = 'NetlinkError';
  readonly errno: number;
  readonly code: string;
  readonly operation?: string;
  readonly seq?: number;
  readonly extAck: ExtendedAck;

  constructor(init: NetlinkErrorInit) {
    const code = errnoName(init.errno);
    const ack = init.extAck ?? {};
    let text = `${init.operation ? init.operation + ': ' : ''}${errnoDescription(init.errno)} (${code})`;
    if (ack.message) text += `: ${ack.message}`;
    if (ack.offset !== undefined) text += ` [at byte ${ack.offset}]`;
    if (ack.missingType !== undefined) text += ` [missing attribute ${ack.missingType}]`;
    super(text, init.cause !== undefined ? { cause: init.cause } : undefined);
    this.errno = init.errno;
    this.code = code;
    this.operation = init.operation;
    this.seq = init.seq;
    this.extAck = ack;
  }

  /** The strerror text alone ("No such file or directory"), as ovs-dpctl prints it. */
  get description(): string {
    return errnoDescription(this.errno);
  }
}

/**
 * Bytes that do not decode: a length running past the buffer, a header too
 * short, a fixed-size payload of the wrong size. Never thrown for valid input.
 */
export class MalformedError extends Error {
  override readonly name = 'MalformedError';
  readonly code = 'EMALFORMED';
  /** Offset within the buffer being decoded, where known. */
  readonly offset?: number;

  constructor(message: string, offset?: number) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
    this.offset = offset;
  }
}

/** Turns a system-call error from the addon into a NetlinkError, keeping it as cause. */
export function fromSystemError(err: unknown, operation: string): NetlinkError | unknown {
  const e = err as { errno?: number; code?: string } | undefined;
  if (e && typeof e.errno === 'number') {
    return new NetlinkError({ errno: Math.abs(e.errno), operation, cause: err });
  }
  return err;
}
