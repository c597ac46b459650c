// Errors of the control plane, named as the kernel's errno values so that the front end can
// map (operation, errno) to ipvsadm's message exactly (docs/spec/ipvsadm.md §6.4).

export type Errno = 'EEXIST' | 'ESRCH' | 'ENOENT' | 'EINVAL' | 'ERANGE' | 'ENODEV' | 'ENOMEM' | 'EPERM' | 'EOPNOTSUPP' | 'EAFNOSUPPORT';

export class IpvsError extends Error {
  constructor(
    readonly errno: Errno,
    detail?: string,
  ) {
    super(detail ? `${errno}: ${detail}` : errno);
    this.name = 'IpvsError';
  }
}

export function isIpvsError(e: unknown): e is IpvsError {
  return e instanceof IpvsError;
}
