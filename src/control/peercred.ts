// Who is on the other end of the control socket: SO_PEERCRED's uid, so that the log can say
// who changed the rules. Read through the libc binding (koffi); null where it
// cannot be had (no koffi, not Linux), and the log then says "unknown".

import type { Socket } from 'node:net';
import { SOL_SOCKET } from '../sys/constants.js';
import { libcOrNull } from '../sys/libc.js';

/** getsockopt(SOL_SOCKET, SO_PEERCRED) fills struct ucred { pid, uid, gid } (3 x 32 bits). */
const SO_PEERCRED = 17;

export function peerUid(s: Socket): number | null {
  // Node keeps the descriptor on the handle of a unix socket; no public accessor exists.
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  const libc = typeof fd === 'number' && fd >= 0 ? libcOrNull() : null;
  if (!libc || fd === undefined) return null;
  const cred = new Int32Array(3);
  const len = new Int32Array([12]);
  if (libc.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, len) !== 0) return null;
  return cred[1]!;
}
