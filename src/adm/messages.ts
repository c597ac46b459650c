// Kernel error → message, as libipvs's ipvs_strerror picks it: first by (operation, errno),
// then by errno alone, else strerror(). Spec: docs/spec/ipvsadm.md §6.4.

import type { Errno } from '../core/errors.js';

/** The libipvs call that failed. */
export type KernelOp =
  | 'add-service'
  | 'edit-service'
  | 'del-service'
  | 'zero'
  | 'add-dest'
  | 'edit-dest'
  | 'del-dest'
  | 'start-daemon'
  | 'stop-daemon'
  | 'set-timeout'
  | 'flush'
  | 'get-service';

const BY_OP: ReadonlyArray<[KernelOp, Errno, string]> = [
  ['add-service', 'EEXIST', 'Service already exists'],
  ['add-service', 'ENOENT', 'Scheduler or persistence engine not found'],
  ['edit-service', 'ESRCH', 'No such service'],
  ['edit-service', 'ENOENT', 'Scheduler or persistence engine not found'],
  ['del-service', 'ESRCH', 'No such service'],
  ['zero', 'ESRCH', 'No such service'],
  ['add-dest', 'ESRCH', 'Service not defined'],
  ['add-dest', 'EEXIST', 'Destination already exists'],
  ['edit-dest', 'ESRCH', 'Service not defined'],
  ['edit-dest', 'ENOENT', 'No such destination'],
  ['del-dest', 'ESRCH', 'Service not defined'],
  ['del-dest', 'ENOENT', 'No such destination'],
  ['start-daemon', 'EEXIST', 'Daemon has already run'],
  ['stop-daemon', 'ESRCH', 'No daemon is running'],
  ['get-service', 'ESRCH', 'No such service'],
];

const ANY_OP: Partial<Record<Errno, string>> = {
  EPERM: 'Permission denied (you must be root)',
  EINVAL: 'Invalid operation.  Possibly wrong module version, address not unicast, ...',
  ENOMEM: 'Memory allocation problem',
  EOPNOTSUPP: 'Operation not supported with IPv6',
  EAFNOSUPPORT: 'Operation not supported with specified address family',
};

/** glibc strerror() texts for the errnos the core can raise. */
const STRERROR: Record<Errno, string> = {
  EEXIST: 'File exists',
  ESRCH: 'No such process',
  ENOENT: 'No such file or directory',
  EINVAL: 'Invalid argument',
  ERANGE: 'Numerical result out of range',
  ENODEV: 'No such device',
  ENOMEM: 'Cannot allocate memory',
  EPERM: 'Operation not permitted',
  EOPNOTSUPP: 'Operation not supported',
  EAFNOSUPPORT: 'Address family not supported by protocol',
};

/** ipvs_strerror(errno) right after `op` failed. */
export function kernelMessage(op: KernelOp, errno: Errno): string {
  for (const [o, e, msg] of BY_OP) if (o === op && e === errno) return msg;
  return ANY_OP[errno] ?? STRERROR[errno];
}
