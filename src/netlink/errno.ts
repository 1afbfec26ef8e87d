import { constants } from 'node:os';

// errno number -> name ("ENOENT"), from Node's own table for this platform.
const names = new Map<number, string>();
// Several names share a number; these are the ones Linux and ovs-dpctl use.
const PREFERRED = ['EAGAIN', 'EOPNOTSUPP', 'EDEADLK'];
for (const name of PREFERRED) {
  const value = (constants.errno as Record<string, number>)[name];
  if (value !== undefined) names.set(value, name);
}
for (const [name, value] of Object.entries(constants.errno)) {
  if (!names.has(value)) names.set(value, name);
}

/** The symbolic name of a positive errno value, or `E<number>` if unknown. */
export function errnoName(errno: number): string {
  return names.get(errno) ?? `E${errno}`;
}

/** The errno value of a symbolic name, or undefined. */
export function errnoValue(name: string): number | undefined {
  return (constants.errno as Record<string, number>)[name];
}

const descriptions: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EINTR: 'Interrupted system call',
  EIO: 'Input/output error',
  ENXIO: 'No such device or address',
  E2BIG: 'Argument list too long',
  EBADF: 'Bad file descriptor',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EFAULT: 'Bad address',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  ENODEV: 'No such device',
  EINVAL: 'Invalid argument',
  ENFILE: 'Too many open files in system',
  EMFILE: 'Too many open files',
  EFBIG: 'File too large',
  ENOSPC: 'No space left on device',
  ERANGE: 'Numerical result out of range',
  EMSGSIZE: 'Message too long',
  EPROTONOSUPPORT: 'Protocol not supported',
  EOPNOTSUPP: 'Operation not supported',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  ENOBUFS: 'No buffer space available',
  ETIMEDOUT: 'Connection timed out',
  ECONNREFUSED: 'Connection refused',
  ENOTSUP: 'Operation not supported',
  EOVERFLOW: 'Value too large for defined data type',
  ENOTCONN: 'Transport endpoint is not connected',
  ELOOP: 'Too many levels of symbolic links',
  ENOTSUPP: 'Operation not supported',
};

/** strerror()-like text, the wording ovs-dpctl prints in parentheses. */
export function errnoDescription(errno: number): string {
  const name = errnoName(errno);
  return descriptions[name] ?? `Unknown error ${errno}`;
}
