// Listening sockets that several threads share a port through: one socket per worker, each with
// SO_REUSEPORT, so that the kernel spreads new connections across the workers (by a hash of the
// 4-tuple) and each worker accepts on its own queue. Node 20's net.Server has no reusePort, so
// the sockets are made here through koffi (Linux only) and handed to the workers as file
// descriptors (`server.listen({ fd })`). Elsewhere, or without koffi, available() is false and
// the engine runs on one thread.

import { createRequire } from 'node:module';
import type { Addr } from '../../core/inet.js';

type Fn = (...args: unknown[]) => unknown;

interface Sys {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, val: Int32Array, len: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  listen(fd: number, backlog: number): number;
  close(fd: number): number;
  errno(): number;
}

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_REUSEPORT = 15;
/** Node's own listen backlog. */
const BACKLOG = 511;

const ERRNO: Record<number, string> = { 13: 'EACCES', 97: 'EAFNOSUPPORT', 98: 'EADDRINUSE', 99: 'EADDRNOTAVAIL' };

let sys: Sys | null | undefined;

function load(): Sys | null {
  if (sys !== undefined) return sys;
  sys = null;
  if (process.platform !== 'linux') return sys;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as { load(name: string): { func(sig: string): Fn }; errno(): number };
    const lib = koffi.load('libc.so.6');
    const socket = lib.func('int socket(int, int, int)');
    const setsockopt = lib.func('int setsockopt(int, int, int, void *, uint32_t)');
    const bind = lib.func('int bind(int, void *, uint32_t)');
    const listen = lib.func('int listen(int, int)');
    const close = lib.func('int close(int)');
    sys = {
      socket: (d, t, p) => socket(d, t, p) as number,
      setsockopt: (fd, l, n, v, len) => setsockopt(fd, l, n, v, len) as number,
      bind: (fd, a, len) => bind(fd, a, len) as number,
      listen: (fd, b) => listen(fd, b) as number,
      close: (fd) => close(fd) as number,
      errno: () => koffi.errno(),
    };
  } catch {
    sys = null;
  }
  return sys;
}

/** Whether listeners can be shared by workers on this system. */
export function reusePortAvailable(): boolean {
  return load() !== null;
}

function sockaddr(addr: Addr, port: number): Uint8Array {
  const b = new Uint8Array(addr.isV6 ? 28 : 16);
  const v = new DataView(b.buffer);
  v.setUint16(0, addr.isV6 ? AF_INET6 : AF_INET, true);
  v.setUint16(2, port, false);
  b.set(addr.toBytes(), addr.isV6 ? 8 : 4);
  return b;
}

export class ListenError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/**
 * Opens `n` listening TCP sockets on addr:port in one SO_REUSEPORT group; closes them all and
 * throws a ListenError (EADDRNOTAVAIL, EADDRINUSE, EACCES, …) if any fails.
 */
export function openListeners(addr: Addr, port: number, n: number): number[] {
  const s = load();
  if (!s) throw new ListenError('ENOSYS');
  const fds: number[] = [];
  const one = new Int32Array([1]);
  const sa = sockaddr(addr, port);
  const fail = (): never => {
    const e = s.errno();
    for (const fd of fds) s.close(fd);
    throw new ListenError(ERRNO[e] ?? `errno ${e}`);
  };
  for (let i = 0; i < n; i++) {
    const fd = s.socket(addr.isV6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail();
    fds.push(fd);
    if (s.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4) < 0) fail();
    if (s.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, one, 4) < 0) fail();
    if (s.bind(fd, sa, sa.length) < 0) fail();
    if (s.listen(fd, BACKLOG) < 0) fail();
  }
  return fds;
}

/** Closes fds that no worker took. */
export function closeFds(fds: number[]): void {
  const s = load();
  for (const fd of fds) s?.close(fd);
}
