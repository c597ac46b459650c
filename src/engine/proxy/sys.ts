// The system calls the proxy engine makes itself (Linux, through koffi): SO_REUSEPORT listeners
// for the workers, and the epoll loop of the workers' fast path (epoll-worker.ts). Loaded lazily
// and only on Linux; sys() is null elsewhere or when koffi cannot load libc, and the engine then
// uses Node's own sockets.

import { createRequire } from 'node:module';

type Fn = (...args: unknown[]) => unknown;

export interface Sys {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, val: Int32Array, len: number): number;
  getsockopt(fd: number, level: number, name: number, val: Int32Array, len: Int32Array): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  listen(fd: number, backlog: number): number;
  accept4(fd: number, addr: Uint8Array, len: Int32Array, flags: number): number;
  connect(fd: number, addr: Uint8Array, len: number): number;
  getsockname(fd: number, addr: Uint8Array, len: Int32Array): number;
  read(fd: number, buf: Uint8Array, len: number): number;
  write(fd: number, buf: Uint8Array, len: number): number;
  send(fd: number, buf: Uint8Array, len: number, flags: number): number;
  recvfrom(fd: number, buf: Uint8Array, len: number, addr: Uint8Array, addrLen: Int32Array): number;
  sendto(fd: number, buf: Uint8Array, len: number, addr: Uint8Array, addrLen: number): number;
  shutdown(fd: number, how: number): number;
  close(fd: number): number;
  epollCreate(): number;
  epollCtl(ep: number, op: number, fd: number, ev: Uint8Array | null): number;
  epollWait(ep: number, evs: Uint8Array, max: number, timeoutMs: number): number;
  eventfd(): number;
  errno(): number;
}

export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_ERROR = 4;
export const SO_LINGER = 13;
export const SO_REUSEPORT = 15;
export const IPPROTO_TCP = 6;
export const TCP_NODELAY = 1;
export const SHUT_WR = 1;
/** send(): more is coming (here: the FIN), so the kernel holds the segment to carry it. */
export const MSG_MORE = 0x8000;
export const EAGAIN = 11;
export const EINTR = 4;
export const EINPROGRESS = 115;
export const ECONNREFUSED = 111;
export const EPOLLIN = 0x1;
export const EPOLLOUT = 0x4;
export const EPOLLERR = 0x8;
export const EPOLLHUP = 0x10;
export const EPOLLRDHUP = 0x2000;
export const EPOLLET = 0x80000000;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
/** struct epoll_event is packed on x86-64 (12 bytes), naturally aligned elsewhere (16). */
export const EPOLL_EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
export const EPOLL_DATA_OFF = process.arch === 'x64' ? 4 : 8;

export const ERRNO_NAMES: Record<number, string> = {
  13: 'EACCES',
  32: 'EPIPE',
  97: 'EAFNOSUPPORT',
  98: 'EADDRINUSE',
  99: 'EADDRNOTAVAIL',
  101: 'ENETUNREACH',
  104: 'ECONNRESET',
  110: 'ETIMEDOUT',
  111: 'ECONNREFUSED',
  113: 'EHOSTUNREACH',
};

let cached: Sys | null | undefined;

export function sys(): Sys | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (process.platform !== 'linux') return cached;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as { load(name: string): { func(sig: string): Fn }; errno(): number };
    const lib = koffi.load('libc.so.6');
    const f = (sig: string) => lib.func(sig);
    const socket = f('int socket(int, int, int)');
    const setsockopt = f('int setsockopt(int, int, int, void *, uint32_t)');
    const getsockopt = f('int getsockopt(int, int, int, void *, _Inout_ int32_t *)');
    const bind = f('int bind(int, void *, uint32_t)');
    const listen = f('int listen(int, int)');
    const accept4 = f('int accept4(int, void *, _Inout_ int32_t *, int)');
    const connect = f('int connect(int, void *, uint32_t)');
    const getsockname = f('int getsockname(int, void *, _Inout_ int32_t *)');
    const read = f('int read(int, void *, size_t)');
    const write = f('int write(int, void *, size_t)');
    const send = f('int send(int, void *, size_t, int)');
    const recvfrom = f('int recvfrom(int, void *, size_t, int, void *, _Inout_ int32_t *)');
    const sendto = f('int sendto(int, void *, size_t, int, void *, uint32_t)');
    const shutdown = f('int shutdown(int, int)');
    const close = f('int close(int)');
    const epollCreate = f('int epoll_create1(int)');
    const epollCtl = f('int epoll_ctl(int, int, int, void *)');
    const epollWait = f('int epoll_wait(int, void *, int, int)');
    const eventfd = f('int eventfd(uint32_t, int)');
    cached = {
      socket: (d, t, p) => socket(d, t, p) as number,
      setsockopt: (fd, l, n, v, len) => setsockopt(fd, l, n, v, len) as number,
      getsockopt: (fd, l, n, v, len) => getsockopt(fd, l, n, v, len) as number,
      bind: (fd, a, len) => bind(fd, a, len) as number,
      listen: (fd, b) => listen(fd, b) as number,
      accept4: (fd, a, len, fl) => accept4(fd, a, len, fl) as number,
      connect: (fd, a, len) => connect(fd, a, len) as number,
      getsockname: (fd, a, len) => getsockname(fd, a, len) as number,
      read: (fd, b, n) => read(fd, b, n) as number,
      write: (fd, b, n) => write(fd, b, n) as number,
      send: (fd, b, n, fl) => send(fd, b, n, fl) as number,
      recvfrom: (fd, b, n, a, al) => recvfrom(fd, b, n, 0, a, al) as number,
      sendto: (fd, b, n, a, al) => sendto(fd, b, n, 0, a, al) as number,
      shutdown: (fd, how) => shutdown(fd, how) as number,
      close: (fd) => close(fd) as number,
      epollCreate: () => epollCreate(SOCK_CLOEXEC) as number,
      epollCtl: (ep, op, fd, ev) => epollCtl(ep, op, fd, ev) as number,
      epollWait: (ep, evs, max, t) => epollWait(ep, evs, max, t) as number,
      eventfd: () => eventfd(0, SOCK_NONBLOCK | SOCK_CLOEXEC) as number,
      errno: () => koffi.errno(),
    };
  } catch {
    cached = null;
  }
  return cached;
}

/** struct sockaddr_in / sockaddr_in6 for a 4- or 16-byte address. */
export function sockaddr(bytes: Uint8Array, port: number): Uint8Array {
  const v6 = bytes.length === 16;
  const b = new Uint8Array(v6 ? 28 : 16);
  const v = new DataView(b.buffer);
  v.setUint16(0, v6 ? AF_INET6 : AF_INET, true);
  v.setUint16(2, port, false);
  b.set(bytes, v6 ? 8 : 4);
  return b;
}
