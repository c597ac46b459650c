// The system calls of raw-frame I/O, bound through koffi. Loaded lazily: only the packet engine
// pays for koffi. Every call returns the C result; failures are turned into errors that name the
// call and errno so that the operator sees what was refused (e.g. EPERM without CAP_NET_RAW).

import { createRequire } from 'node:module';

type KoffiFn = (...args: unknown[]) => unknown;

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  setsockopt(fd: number, level: number, name: number, val: Uint8Array, len: number): number;
  getsockopt(fd: number, level: number, name: number, val: Uint8Array, len: Int32Array): number;
  /** Maps memory; `addr` is the address as a number (user-space addresses fit in 2^53). */
  mmap(len: number, prot: number, flags: number, fd: number): Mapping | null;
  munmap(addr: number, len: number): number;
  poll(fds: Uint8Array, n: number, timeoutMs: number): number;
  sendmmsg(fd: number, msgvec: number, vlen: number, flags: number): number;
  sendto(fd: number, buf: Uint8Array, len: number, flags: number): number;
  /** sendto(2) with a destination address (raw IP sockets). */
  sendtoAddr(fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array, addrLen: number): number;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
  close(fd: number): number;
  ifNameToIndex(name: string): number;
  /** A view of mapped memory (no copy). */
  view(m: Mapping): ArrayBuffer;
  errno(): number;
  strerror(errno: number): string;
}

export interface Mapping {
  readonly ptr: unknown;
  readonly addr: number;
  readonly len: number;
}

let cached: Libc | null = null;

export function libc(): Libc {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as {
    load(name: string): { func(sig: string): KoffiFn };
    view(ptr: unknown, len: number): ArrayBuffer;
    address(ptr: unknown): bigint;
    errno(): number;
  };
  const lib = koffi.load('libc.so.6');
  const f = (sig: string) => lib.func(sig);
  const socket = f('int socket(int, int, int)');
  const bind = f('int bind(int, void *, uint32_t)');
  const setsockopt = f('int setsockopt(int, int, int, void *, uint32_t)');
  const getsockopt = f('int getsockopt(int, int, int, void *, _Inout_ int32_t *)');
  const mmap = f('void *mmap(void *, size_t, int, int, int, int64_t)');
  const munmap = f('int munmap(uintptr_t, size_t)');
  const poll = f('int poll(void *, uint64_t, int)');
  const sendmmsg = f('int sendmmsg(int, uintptr_t, uint32_t, int)');
  const sendto = f('intptr_t send(int, void *, size_t, int)');
  const sendtoAddr = f('intptr_t sendto(int, void *, size_t, int, void *, uint32_t)');
  const recv = f('intptr_t recv(int, void *, size_t, int)');
  const close = f('int close(int)');
  const ifNameToIndex = f('uint32_t if_nametoindex(const char *)');
  const strerror = f('const char *strerror(int)');
  cached = {
    socket: (a, b, c) => socket(a, b, c) as number,
    bind: (fd, addr, len) => bind(fd, addr, len) as number,
    setsockopt: (fd, l, n, v, len) => setsockopt(fd, l, n, v, len) as number,
    getsockopt: (fd, l, n, v, len) => getsockopt(fd, l, n, v, len) as number,
    mmap: (len, prot, flags, fd) => {
      const ptr = mmap(null, len, prot, flags, fd, 0);
      const a = koffi.address(ptr);
      if (a === 0xffffffffffffffffn || a === 0n) return null; // MAP_FAILED
      return { ptr, addr: Number(a), len };
    },
    munmap: (addr, len) => munmap(addr, len) as number,
    poll: (fds, n, t) => poll(fds, n, t) as number,
    sendmmsg: (fd, v, n, fl) => sendmmsg(fd, v, n, fl) as number,
    sendto: (fd, b, len, fl) => Number(sendto(fd, b, len, fl)),
    sendtoAddr: (fd, b, len, fl, a, alen) => Number(sendtoAddr(fd, b, len, fl, a, alen)),
    recv: (fd, b, len, fl) => Number(recv(fd, b, len, fl)),
    close: (fd) => close(fd) as number,
    ifNameToIndex: (n) => ifNameToIndex(n) as number,
    view: (m) => koffi.view(m.ptr, m.len),
    errno: () => koffi.errno(),
    strerror: (e) => strerror(e) as string,
  };
  return cached;
}

export class SyscallError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
    detail: string,
  ) {
    super(`${call}: ${detail}`);
    this.name = 'SyscallError';
  }
}

/** Throws a SyscallError naming the call when `rc` is negative. */
export function check(call: string, rc: number, hint = ''): number {
  if (rc >= 0) return rc;
  const c = libc();
  const e = c.errno();
  throw new SyscallError(call, e, `${c.strerror(e)} (errno ${e})${hint ? `: ${hint}` : ''}`);
}
