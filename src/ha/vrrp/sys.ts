// The few system calls VRRP needs (raw IP sockets for protocol 112, a packet socket for GARP/NA),
// bound through koffi and loaded lazily. A small binding of its own until the project's libc
// bindings are one module (the lead folds it in). Failures name the call and errno.

import { createRequire } from 'node:module';

type KoffiFn = (...args: unknown[]) => unknown;

export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_PACKET = 17;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0x800;
export const SOCK_CLOEXEC = 0x80000;
export const IPPROTO_IP = 0;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_RAW = 255;
export const SOL_SOCKET = 1;
export const SO_BINDTODEVICE = 25;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IPV6_ADD_MEMBERSHIP = 20;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_RECVPKTINFO = 49;
export const IPV6_PKTINFO = 50;
export const IPV6_RECVHOPLIMIT = 51;
export const IPV6_HOPLIMIT = 52;
export const MSG_DONTWAIT = 0x40;
export const EAGAIN = 11;
export const EINTR = 4;

export interface VrrpSys {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, val: Uint8Array): number;
  sendto(fd: number, buf: Uint8Array, addr: Uint8Array): number;
  /** recv(2) without waiting; -1 with errno EAGAIN when nothing is queued. */
  recv(fd: number, buf: Uint8Array): number;
  /** recvmsg(2) without waiting, through memory `m` made by `msgBuffers`. */
  recvmsg(fd: number, m: MsgBuffers): number;
  close(fd: number): number;
  ifNameToIndex(name: string): number;
  errno(): number;
  strerror(errno: number): string;
  msgBuffers(dataLen: number): MsgBuffers;
}

/** A msghdr with its name, iovec, data and control areas, in memory koffi owns. */
export interface MsgBuffers {
  readonly msg: unknown;
  /** Views of the areas: the sender's sockaddr, the data, the control messages. */
  readonly name: Uint8Array;
  readonly data: Uint8Array;
  readonly control: Uint8Array;
  /** Resets name/control lengths before each call; returns the msghdr's view for reading back. */
  reset(): void;
  controlLen(): number;
}

const NAME_LEN = 28; // sockaddr_in6
const CONTROL_LEN = 128; // room for IPV6_PKTINFO and IPV6_HOPLIMIT
const MSGHDR_LEN = 56; // x86-64 / arm64: name, namelen(+pad), iov, iovlen, control, controllen, flags(+pad)
const IOVEC_LEN = 16;

let cached: VrrpSys | null = null;

export function sys(): VrrpSys {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as {
    load(name: string): { func(sig: string): KoffiFn };
    alloc(type: string, n: number): unknown;
    view(ptr: unknown, len: number): ArrayBuffer;
    address(ptr: unknown): bigint;
    errno(): number;
  };
  const lib = koffi.load('libc.so.6');
  const f = (sig: string) => lib.func(sig);
  const socket = f('int socket(int, int, int)');
  const setsockopt = f('int setsockopt(int, int, int, void *, uint32_t)');
  const sendto = f('intptr_t sendto(int, void *, size_t, int, void *, uint32_t)');
  const recv = f('intptr_t recv(int, void *, size_t, int)');
  const recvmsg = f('intptr_t recvmsg(int, void *, int)');
  const close = f('int close(int)');
  const ifNameToIndex = f('uint32_t if_nametoindex(const char *)');
  const strerror = f('const char *strerror(int)');
  cached = {
    socket: (a, b, c) => socket(a, b, c) as number,
    setsockopt: (fd, l, n, v) => setsockopt(fd, l, n, v, v.length) as number,
    sendto: (fd, b, a) => Number(sendto(fd, b, b.length, 0, a, a.length)),
    recv: (fd, b) => Number(recv(fd, b, b.length, MSG_DONTWAIT)),
    recvmsg: (fd, m) => Number(recvmsg(fd, m.msg, MSG_DONTWAIT)),
    close: (fd) => close(fd) as number,
    ifNameToIndex: (n) => ifNameToIndex(n) as number,
    errno: () => koffi.errno(),
    strerror: (e) => strerror(e) as string,
    msgBuffers: (dataLen) => {
      const total = MSGHDR_LEN + IOVEC_LEN + NAME_LEN + 4 + CONTROL_LEN + dataLen;
      const ptr = koffi.alloc('uint8_t', total);
      const base = koffi.address(ptr);
      const mem = new Uint8Array(koffi.view(ptr, total));
      const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
      const iovAt = MSGHDR_LEN;
      const nameAt = iovAt + IOVEC_LEN;
      const controlAt = nameAt + NAME_LEN + 4;
      const dataAt = controlAt + CONTROL_LEN;
      dv.setBigUint64(0, base + BigInt(nameAt), true);
      dv.setBigUint64(16, base + BigInt(iovAt), true);
      dv.setBigUint64(24, 1n, true);
      dv.setBigUint64(32, base + BigInt(controlAt), true);
      dv.setBigUint64(iovAt, base + BigInt(dataAt), true);
      dv.setBigUint64(iovAt + 8, BigInt(dataLen), true);
      return {
        msg: ptr,
        name: mem.subarray(nameAt, nameAt + NAME_LEN),
        control: mem.subarray(controlAt, controlAt + CONTROL_LEN),
        data: mem.subarray(dataAt, dataAt + dataLen),
        reset() {
          dv.setUint32(8, NAME_LEN, true);
          dv.setBigUint64(40, BigInt(CONTROL_LEN), true);
          dv.setInt32(48, 0, true);
        },
        controlLen: () => Number(dv.getBigUint64(40, true)),
      };
    },
  };
  return cached;
}

/** Throws naming the call and errno when `rc` is negative. */
export function check(call: string, rc: number, hint = ''): number {
  if (rc >= 0) return rc;
  const s = sys();
  const e = s.errno();
  throw new Error(`${call}: ${s.strerror(e)} (errno ${e})${hint ? `: ${hint}` : ''}`);
}

export function int32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

/** struct sockaddr_in for `addr` (4 bytes, network order), port 0. */
export function sockaddrIn(addr: Uint8Array): Uint8Array {
  const b = new Uint8Array(16);
  new DataView(b.buffer).setUint16(0, AF_INET, true);
  b.set(addr, 4);
  return b;
}

/** struct sockaddr_in6 for `addr` (16 bytes), port 0, with a scope (interface index). */
export function sockaddrIn6(addr: Uint8Array, scopeId: number): Uint8Array {
  const b = new Uint8Array(28);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_INET6, true);
  b.set(addr, 8);
  dv.setUint32(24, scopeId, true);
  return b;
}

/** struct sockaddr_ll to send a frame of `protocol` (host order) out of `ifindex`. */
export function sockaddrLl(ifindex: number, protocol: number): Uint8Array {
  const b = new Uint8Array(20);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_PACKET, true);
  dv.setUint16(2, protocol, false);
  dv.setInt32(4, ifindex, true);
  return b;
}
