// Listening sockets that several threads share a port through: one socket per worker, each with
// SO_REUSEPORT, so that the kernel spreads new connections across the workers (by a hash of the
// 4-tuple) and each worker accepts on its own queue. Node 20's net.Server has no reusePort, so
// the sockets are made here through koffi (Linux only) and handed to the workers as file
// descriptors (`server.listen({ fd })`). Elsewhere, or without koffi, available() is false and
// the engine runs on one thread.

import type { Addr } from '../../core/inet.js';
import {
  AF_INET,
  AF_INET6,
  errnoName,
  IPPROTO_TCP,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  TCP_NODELAY,
} from '../../sys/constants.js';
import { libcOrNull } from '../../sys/libc.js';
import { sockaddr } from '../../sys/sockaddr.js';

/** Node's own listen backlog. */
const BACKLOG = 511;

const load = libcOrNull;

/** Whether listeners can be shared by workers on this system. */
export function reusePortAvailable(): boolean {
  return load() !== null;
}

export class ListenError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/**
 * Opens `n` listening TCP sockets (bound UDP sockets with `udp`) on addr:port in one
 * SO_REUSEPORT group; closes them all and throws a ListenError (EADDRNOTAVAIL, EADDRINUSE,
 * EACCES, …) if any fails. The kernel spreads UDP datagrams over the group by a hash of the
 * address pair too, so a client's flow reaches one socket while the group stays the same.
 */
export function openListeners(addr: Addr, port: number, n: number, udp = false): number[] {
  const s = load();
  if (!s) throw new ListenError('ENOSYS');
  const fds: number[] = [];
  const one = new Int32Array([1]);
  const sa = sockaddr(addr.toBytes(), port);
  const fail = (): never => {
    const e = s.errno();
    for (const fd of fds) s.close(fd);
    throw new ListenError(errnoName(e));
  };
  for (let i = 0; i < n; i++) {
    const fd = s.socket(addr.isV6 ? AF_INET6 : AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail();
    fds.push(fd);
    if (s.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4) < 0) fail();
    if (s.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, one, 4) < 0) fail();
    // Accepted sockets inherit it: no setsockopt per connection.
    if (!udp && s.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, one, 4) < 0) fail();
    if (s.bind(fd, sa, sa.length) < 0) fail();
    if (!udp && s.listen(fd, BACKLOG) < 0) fail();
  }
  return fds;
}

/** Closes fds that no worker took. */
export function closeFds(fds: number[]): void {
  const s = load();
  for (const fd of fds) s?.close(fd);
}
