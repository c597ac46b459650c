// The one koffi binding of libc: every system call tsvs makes itself (the packet engine's
// AF_PACKET rings, the proxy engine's SO_REUSEPORT listeners and epoll workers, the real-server
// agent's raw sockets, VRRP's raw and packet sockets). Loaded lazily, per thread, on first use: only what needs koffi pays for
// it. libc() throws a clear error where it cannot load (not Linux, koffi missing); libcOrNull()
// lets a caller fall back instead (the proxy engine runs on Node's sockets then).
// Every function returns the C result (-1 on failure, errno() says why); check() turns a
// failure into an error that names the call.

import { createRequire } from 'node:module';
import { MAP_SHARED, PROT_READ, PROT_WRITE, SOCK_CLOEXEC, SOCK_NONBLOCK } from './constants.js';

const MAP_POPULATE = 0x8000;

type KoffiFn = ((...args: unknown[]) => unknown) & { async: (...args: unknown[]) => void };
/** A buffer passed as `void *`. */
type Mem = Uint8Array | Int32Array;

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  /** Two connected sockets in `sv` (tests drive socket code over them). */
  socketpair(domain: number, type: number, protocol: number, sv: Int32Array): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  listen(fd: number, backlog: number): number;
  accept4(fd: number, addr: Uint8Array, len: Int32Array, flags: number): number;
  connect(fd: number, addr: Uint8Array, len: number): number;
  getsockname(fd: number, addr: Uint8Array, len: Int32Array): number;
  setsockopt(fd: number, level: number, name: number, val: Mem, len: number): number;
  getsockopt(fd: number, level: number, name: number, val: Mem, len: Int32Array): number;
  /**
   * setsockopt() on one of libuv's worker threads, for options the kernel may sleep in (a
   * PACKET_FANOUT_DATA swap waits for an RCU grace period, milliseconds): `done` runs on this
   * thread with the result (-1 on failure; errno stays on the worker). `val` is native memory
   * from alloc(), so nothing moves while the worker reads it.
   */
  setsockoptAsync(fd: number, level: number, name: number, val: Mapping, len: number, done: (rc: number) => void): void;
  read(fd: number, buf: Uint8Array, len: number): number;
  write(fd: number, buf: Uint8Array, len: number): number;
  send(fd: number, buf: Uint8Array, len: number, flags: number): number;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
  recvfrom(fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array, addrLen: Int32Array): number;
  sendto(fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array, addrLen: number): number;
  sendmmsg(fd: number, msgvec: number, vlen: number, flags: number): number;
  /** recvmsg(2) with a struct msghdr in memory from alloc() (its pointers are raw addresses). */
  recvmsg(fd: number, msg: Mapping, flags: number): number;
  shutdown(fd: number, how: number): number;
  close(fd: number): number;
  /** close() on a worker thread (a packet socket's release waits for an RCU grace period); as setsockoptAsync. */
  closeAsync(fd: number, done: (rc: number) => void): void;
  /**
   * mmap(2) of `fd` at offset 0, shared, read-write, on a worker thread: mapping a 32 MiB packet
   * ring inserts all its 8,192 pages (milliseconds the thread could not walk a ring meanwhile).
   * `done` gets the mapping, or null on failure.
   */
  mmapAsync(len: number, fd: number, done: (m: Mapping | null) => void): void;
  poll(fds: Uint8Array, n: number, timeoutMs: number): number;
  /**
   * poll() on one of libuv's worker threads; `done` runs on this thread with poll's result (-1
   * on failure; errno stays on the worker, so a caller treats -1 as "look again"). The event
   * loop stays free meanwhile: the packet engine waits for its rings and its netlink socket
   * this way when idle. `fds` must not be touched until `done` runs.
   */
  pollAsync(fds: Uint8Array, n: number, timeoutMs: number, done: (rc: number) => void): void;
  /** epoll_create1(EPOLL_CLOEXEC). */
  epollCreate(): number;
  epollCtl(ep: number, op: number, fd: number, ev: Uint8Array | null): number;
  epollWait(ep: number, evs: Uint8Array, max: number, timeoutMs: number): number;
  /** A non-blocking, close-on-exec eventfd counting from 0. */
  eventfd(): number;
  /** Maps memory; `addr` is the address as a number (user-space addresses fit in 2^53). */
  mmap(len: number, prot: number, flags: number, fd: number): Mapping | null;
  munmap(addr: number, len: number): number;
  /** mmap(2) of `fd` at `offset` (AF_XDP rings live at fixed offsets past 2^31), shared, read-write. */
  mmapAt(len: number, fd: number, offset: number): Mapping | null;
  /** bpf(2): `attr` is a union bpf_attr in native memory (its pointers are raw addresses). */
  bpf(cmd: number, attr: Mapping, size: number): number;
  /** The address of a typed array's storage (stable: V8 never moves a backing store). */
  addressOf(a: ArrayBufferView): number;
  madvise(addr: number, len: number, advice: number): number;
  /** Memory that C may keep pointers into (a msghdr and its areas); never freed (allocate once). */
  alloc(len: number): Mapping;
  /** A view of mapped or allocated memory (no copy). */
  view(m: Mapping): ArrayBuffer;
  ifNameToIndex(name: string): number;
  errno(): number;
  strerror(errno: number): string;
}

export interface Mapping {
  readonly ptr: unknown;
  readonly addr: number;
  readonly len: number;
}

interface Koffi {
  load(name: string): { func(sig: string): KoffiFn };
  alloc(type: string, n: number): unknown;
  view(ptr: unknown, len: number): ArrayBuffer;
  address(ptr: unknown): bigint;
  errno(): number;
}

/** EPOLL_CLOEXEC has O_CLOEXEC's value, as SOCK_CLOEXEC does. */
const EPOLL_CLOEXEC = SOCK_CLOEXEC;
const MAP_FAILED = 0xffffffffffffffffn;

let cached: Libc | undefined;
let failure = '';

function loadLibc(): Libc {
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as Koffi;
  const lib = koffi.load('libc.so.6');
  const f = (sig: string) => lib.func(sig);
  const socket = f('int socket(int, int, int)');
  const socketpair = f('int socketpair(int, int, int, void *)');
  const bind = f('int bind(int, void *, uint32_t)');
  const listen = f('int listen(int, int)');
  const accept4 = f('int accept4(int, void *, _Inout_ int32_t *, int)');
  const connect = f('int connect(int, void *, uint32_t)');
  const getsockname = f('int getsockname(int, void *, _Inout_ int32_t *)');
  const setsockopt = f('int setsockopt(int, int, int, void *, uint32_t)');
  const getsockopt = f('int getsockopt(int, int, int, void *, _Inout_ int32_t *)');
  // ssize_t results as int: every length asked for here is below 2^31.
  const read = f('int read(int, void *, size_t)');
  const write = f('int write(int, void *, size_t)');
  const send = f('int send(int, void *, size_t, int)');
  const recv = f('int recv(int, void *, size_t, int)');
  const recvfrom = f('int recvfrom(int, void *, size_t, int, void *, _Inout_ int32_t *)');
  const sendto = f('int sendto(int, void *, size_t, int, void *, uint32_t)');
  const sendmmsg = f('int sendmmsg(int, uintptr_t, uint32_t, int)');
  const recvmsg = f('int recvmsg(int, void *, int)');
  const shutdown = f('int shutdown(int, int)');
  const close = f('int close(int)');
  const poll = f('int poll(void *, uint64_t, int)');
  const epollCreate = f('int epoll_create1(int)');
  const epollCtl = f('int epoll_ctl(int, int, int, void *)');
  const epollWait = f('int epoll_wait(int, void *, int, int)');
  const eventfd = f('int eventfd(uint32_t, int)');
  const mmap = f('void *mmap(void *, size_t, int, int, int, int64_t)');
  const munmap = f('int munmap(uintptr_t, size_t)');
  const madvise = f('int madvise(uintptr_t, size_t, int)');
  // memmove(p, p, 0) copies nothing and returns p: how koffi tells a typed array's address.
  const memmove = f('void *memmove(void *, void *, size_t)');
  // syscall(2) is variadic; its integer arguments travel in the same registers as a fixed signature's.
  const syscall = f('long syscall(long, int, void *, uint32_t)');
  const SYS_bpf = process.arch === 'arm64' ? 280 : 321;
  const ifNameToIndex = f('uint32_t if_nametoindex(const char *)');
  const strerror = f('const char *strerror(int)');
  return {
    socket: (d, t, p) => socket(d, t, p) as number,
    socketpair: (d, t, p, sv) => socketpair(d, t, p, sv) as number,
    bind: (fd, a, len) => bind(fd, a, len) as number,
    listen: (fd, b) => listen(fd, b) as number,
    accept4: (fd, a, len, fl) => accept4(fd, a, len, fl) as number,
    connect: (fd, a, len) => connect(fd, a, len) as number,
    getsockname: (fd, a, len) => getsockname(fd, a, len) as number,
    setsockopt: (fd, l, n, v, len) => setsockopt(fd, l, n, v, len) as number,
    getsockopt: (fd, l, n, v, len) => getsockopt(fd, l, n, v, len) as number,
    setsockoptAsync: (fd, l, n, v, len, done) => {
      setsockopt.async(fd, l, n, v.ptr, len, (err: unknown, res: unknown) => done(err ? -1 : (res as number)));
    },
    read: (fd, b, n) => read(fd, b, n) as number,
    write: (fd, b, n) => write(fd, b, n) as number,
    send: (fd, b, n, fl) => send(fd, b, n, fl) as number,
    recv: (fd, b, n, fl) => recv(fd, b, n, fl) as number,
    recvfrom: (fd, b, n, fl, a, al) => recvfrom(fd, b, n, fl, a, al) as number,
    sendto: (fd, b, n, fl, a, al) => sendto(fd, b, n, fl, a, al) as number,
    sendmmsg: (fd, v, n, fl) => sendmmsg(fd, v, n, fl) as number,
    recvmsg: (fd, m, fl) => recvmsg(fd, m.ptr, fl) as number,
    shutdown: (fd, how) => shutdown(fd, how) as number,
    close: (fd) => close(fd) as number,
    closeAsync: (fd, done) => {
      close.async(fd, (err: unknown, res: unknown) => done(err ? -1 : (res as number)));
    },
    poll: (fds, n, t) => poll(fds, n, t) as number,
    pollAsync: (fds, n, t, done) => {
      poll.async(fds, n, t, (err: unknown, res: unknown) => done(err ? -1 : (res as number)));
    },
    epollCreate: () => epollCreate(EPOLL_CLOEXEC) as number,
    epollCtl: (ep, op, fd, ev) => epollCtl(ep, op, fd, ev) as number,
    epollWait: (ep, evs, max, t) => epollWait(ep, evs, max, t) as number,
    eventfd: () => eventfd(0, SOCK_NONBLOCK | SOCK_CLOEXEC) as number,
    mmap: (len, prot, flags, fd) => {
      const ptr = mmap(null, len, prot, flags, fd, 0);
      const a = koffi.address(ptr);
      if (a === MAP_FAILED || a === 0n) return null;
      return { ptr, addr: Number(a), len };
    },
    munmap: (addr, len) => munmap(addr, len) as number,
    mmapAsync: (len, fd, done) => {
      mmap.async(null, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, (err: unknown, ptr: unknown) => {
        const a = err ? MAP_FAILED : koffi.address(ptr);
        done(a === MAP_FAILED || a === 0n ? null : { ptr, addr: Number(a), len });
      });
    },
    mmapAt: (len, fd, offset) => {
      const ptr = mmap(null, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, offset);
      const a = koffi.address(ptr);
      if (a === MAP_FAILED || a === 0n) return null;
      return { ptr, addr: Number(a), len };
    },
    bpf: (cmd, attr, size) => Number(syscall(SYS_bpf, cmd, attr.ptr, size) as number | bigint),
    alloc: (len) => {
      const ptr = koffi.alloc('uint8_t', len);
      return { ptr, addr: Number(koffi.address(ptr)), len };
    },
    view: (m) => koffi.view(m.ptr, m.len),
    addressOf: (a) => Number(koffi.address(memmove(a, a, 0))),
    madvise: (addr, len, advice) => madvise(addr, len, advice) as number,
    ifNameToIndex: (n) => ifNameToIndex(n) as number,
    errno: () => koffi.errno(),
    strerror: (e) => strerror(e) as string,
  };
}

/** The binding, or null where it cannot load (why: libcFailure()). */
export function libcOrNull(): Libc | null {
  if (cached) return cached;
  if (failure) return null;
  if (process.platform !== 'linux') {
    failure = `system calls through koffi need Linux (this is ${process.platform})`;
    return null;
  }
  try {
    cached = loadLibc();
    return cached;
  } catch (e) {
    failure = `koffi could not bind libc: ${(e as Error).message}`;
    return null;
  }
}

/** The binding; throws an error saying why it cannot load. */
export function libc(): Libc {
  const c = libcOrNull();
  if (!c) throw new Error(`${failure}; use the proxy engine, or install koffi (npm ci)`);
  return c;
}

/** Why libcOrNull() returned null ('' if it has not, or was not asked). */
export function libcFailure(): string {
  return failure;
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

/** Throws a SyscallError naming the call when `rc` is negative; returns `rc` otherwise. */
export function check(call: string, rc: number, hint = ''): number {
  if (rc >= 0) return rc;
  const c = libc();
  const e = c.errno();
  throw new SyscallError(call, e, `${c.strerror(e)} (errno ${e})${hint ? `: ${hint}` : ''}`);
}
