// The bpf(2) calls the AF_XDP data path needs, through koffi (src/sys/libc.ts): create a hash map
// and an XSKMAP, update and delete their entries, load an XDP program (its verifier log goes into
// the error when the kernel refuses it), and attach it with BPF_LINK_CREATE. A link's fd belongs
// to the process: when the daemon dies, even by kill -9, the kernel closes it and detaches the
// program, so a crashed director leaves no XDP program stealing frames (issue 16's crash safety).
//
// union bpf_attr is built in native memory (mmap'd scratch, unmapped after the call): its pointers
// are 64-bit fields holding raw addresses (include/uapi/linux/bpf.h).

import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../../sys/constants.js';
import { libc, type Mapping, SyscallError } from '../../../sys/libc.js';

export const BPF_MAP_CREATE = 0;
export const BPF_MAP_UPDATE_ELEM = 2;
export const BPF_MAP_DELETE_ELEM = 3;
export const BPF_PROG_LOAD = 5;
export const BPF_PROG_TEST_RUN = 10;
export const BPF_LINK_CREATE = 28;
/** Linux 5.6+: many deletes in one call (the fast path's flush). */
export const BPF_MAP_DELETE_BATCH = 27;
export const BPF_MAP_TYPE_HASH = 1;
export const BPF_MAP_TYPE_ARRAY = 2;
export const BPF_MAP_TYPE_XSKMAP = 17;
export const BPF_PROG_TYPE_XDP = 6;
/** The attach type of an XDP program on a device (enum bpf_attach_type). */
export const BPF_XDP = 37;
export const BPF_F_NO_PREALLOC = 1;
/** An array map user space can mmap (the fast path's counters, read without a system call). */
export const BPF_F_MMAPABLE = 0x400;
export const XDP_FLAGS_SKB_MODE = 2;
export const XDP_FLAGS_DRV_MODE = 4;
/** Helper ids (__BPF_FUNC_MAPPER). */
export const BPF_FUNC_MAP_LOOKUP_ELEM = 1;
export const BPF_FUNC_REDIRECT = 23;
/** Moves the frame's start (a negative delta makes room in front: ipip's outer header). */
export const BPF_FUNC_XDP_ADJUST_HEAD = 44;
export const BPF_FUNC_REDIRECT_MAP = 51;
/** XDP verdicts. */
export const XDP_ABORTED = 0;
export const XDP_PASS = 2;
export const XDP_REDIRECT = 4;

/** sizeof(union bpf_attr) we pass: more than any command here uses; the kernel wants the rest zero. */
const ATTR_SIZE = 128;
const LOG_SIZE = 1 << 20;
const TWO32 = 4294967296;

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  7: 'E2BIG',
  9: 'EBADF',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  16: 'EBUSY',
  17: 'EEXIST',
  19: 'ENODEV',
  22: 'EINVAL',
  28: 'ENOSPC',
  34: 'ERANGE',
  38: 'ENOSYS',
  95: 'EOPNOTSUPP',
  105: 'ENOBUFS',
  524: 'ENOTSUPP',
};

/** The errno's name (EPERM…), or its number where this list has none. */
export function errnoName(e: number): string {
  return ERRNO_NAMES[e] ?? `errno ${e}`;
}

/** Native memory for one call's arguments; `free` unmaps it. */
function scratch(len: number): { m: Mapping; u8: Uint8Array; dv: DataView } {
  const c = libc();
  const m = c.mmap(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  if (!m) throw new Error(`mmap of ${len} bytes for a bpf(2) argument failed: ${errnoName(c.errno())}`);
  const ab = c.view(m);
  return { m, u8: new Uint8Array(ab), dv: new DataView(ab) };
}

function free(m: Mapping): void {
  libc().munmap(m.addr, m.len);
}

function setPtr(dv: DataView, off: number, addr: number): void {
  dv.setUint32(off, addr % TWO32, true);
  dv.setUint32(off + 4, Math.floor(addr / TWO32), true);
}

/** Runs bpf(cmd) over the attr `fill` writes; throws an error naming `what`, the errno and `hint`. */
function bpf(
  cmd: number,
  what: string,
  fill: (dv: DataView) => void,
  hint: (errno: number) => string,
  after?: (dv: DataView) => void,
): number {
  const c = libc();
  const a = scratch(ATTR_SIZE);
  try {
    fill(a.dv);
    const rc = c.bpf(cmd, a.m, ATTR_SIZE);
    if (rc >= 0) {
      after?.(a.dv);
      return rc;
    }
    const e = c.errno();
    throw new SyscallError(what, e, `${errnoName(e)} (${c.strerror(e)}): ${hint(e)}`);
  } finally {
    free(a.m);
  }
}

function permHint(e: number): string {
  if (e === 1) return 'needs CAP_BPF and CAP_NET_ADMIN (run the daemon as root)';
  if (e === 38) return 'this kernel has no bpf(2) (CONFIG_BPF_SYSCALL): use --xdp off';
  return '';
}

/** A BPF map: its fd, and scratch memory for the key and value of updates. */
export class BpfMap {
  private readonly kv: { m: Mapping; u8: Uint8Array; dv: DataView };
  /** Native room for deleteBatch's keys, grown as needed. */
  private batch: { m: Mapping; u8: Uint8Array; dv: DataView } | null = null;
  private closed = false;

  private constructor(
    readonly fd: number,
    readonly name: string,
    readonly keySize: number,
    readonly valueSize: number,
  ) {
    this.kv = scratch(keySize + valueSize + ATTR_SIZE);
  }

  /** Creates a map; `name` (up to 15 characters) shows in bpftool. */
  static create(type: number, name: string, keySize: number, valueSize: number, maxEntries: number, flags = 0): BpfMap {
    const fd = bpf(
      BPF_MAP_CREATE,
      `bpf(BPF_MAP_CREATE ${name})`,
      (dv) => {
        dv.setUint32(0, type, true);
        dv.setUint32(4, keySize, true);
        dv.setUint32(8, valueSize, true);
        dv.setUint32(12, maxEntries, true);
        dv.setUint32(16, flags, true);
        for (let i = 0; i < Math.min(name.length, 15); i++) dv.setUint8(28 + i, name.charCodeAt(i) & 0x7f);
      },
      (e) =>
        permHint(e) ||
        (e === 12 ? 'not enough locked memory for the map (raise RLIMIT_MEMLOCK on kernels before 5.11)' : 'the kernel refused the map'),
    );
    return new BpfMap(fd, name, keySize, valueSize);
  }

  /** Sets `key` to `value` (BPF_ANY). */
  update(key: Uint8Array, value: Uint8Array): void {
    const { u8, dv, m } = this.kv;
    u8.set(key.subarray(0, this.keySize), ATTR_SIZE);
    u8.set(value.subarray(0, this.valueSize), ATTR_SIZE + this.keySize);
    this.call(BPF_MAP_UPDATE_ELEM, 'BPF_MAP_UPDATE_ELEM', (a) => {
      a.setUint32(0, this.fd, true);
      setPtr(a, 8, m.addr + ATTR_SIZE);
      setPtr(a, 16, m.addr + ATTR_SIZE + this.keySize);
      a.setUint32(24, 0, true);
      a.setUint32(28, 0, true);
    });
    dv.setUint32(0, 0, true);
  }

  /** Deletes `key`; returns false when it was not there. */
  delete(key: Uint8Array): boolean {
    const { u8, m } = this.kv;
    u8.set(key.subarray(0, this.keySize), ATTR_SIZE);
    try {
      this.call(BPF_MAP_DELETE_ELEM, 'BPF_MAP_DELETE_ELEM', (a) => {
        a.setUint32(0, this.fd, true);
        setPtr(a, 8, m.addr + ATTR_SIZE);
      });
      return true;
    } catch (e) {
      if (e instanceof SyscallError && e.errno === 2) return false;
      throw e;
    }
  }

  /**
   * Deletes the `n` keys that lie one after another at the start of `keys`, in one call; returns
   * how many the kernel deleted (it stops at the first it cannot, ENOENT included, without
   * throwing). Throws when the kernel has no batch operations (before 5.6: EINVAL).
   */
  deleteBatch(keys: Uint8Array, n: number): number {
    if (n === 0) return 0;
    const len = n * this.keySize;
    if (this.batch === null || this.batch.u8.length < len) {
      if (this.batch) free(this.batch.m);
      this.batch = null;
      this.batch = scratch(len);
    }
    const b = this.batch;
    b.u8.set(keys.subarray(0, len));
    const { dv } = this.kv;
    try {
      this.call(BPF_MAP_DELETE_BATCH, 'BPF_MAP_DELETE_BATCH', (a) => {
        setPtr(a, 16, b.m.addr);
        a.setUint32(32, n, true);
        a.setUint32(36, this.fd, true);
      });
    } catch (e) {
      // A stop at a missing key is a partial success: the count says how far it got.
      if (!(e instanceof SyscallError && e.errno === 2)) throw e;
    }
    return dv.getUint32(32, true);
  }

  /** bpf(cmd) with the attr at the head of this map's scratch memory (no mmap per update). */
  private call(cmd: number, name: string, fill: (dv: DataView) => void): void {
    const c = libc();
    const { u8, dv, m } = this.kv;
    u8.fill(0, 0, ATTR_SIZE);
    fill(dv);
    const rc = c.bpf(cmd, m, ATTR_SIZE);
    if (rc >= 0) return;
    const e = c.errno();
    const hint = e === 7 ? `the map ${this.name} is full` : permHint(e) || 'the kernel refused the update';
    throw new SyscallError(`bpf(${name} ${this.name})`, e, `${errnoName(e)} (${c.strerror(e)}): ${hint}`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    free(this.kv.m);
    if (this.batch) free(this.batch.m);
    libc().close(this.fd);
  }
}

/** Loads an XDP program; on refusal the error carries the verifier's log. Returns its fd. */
export function loadXdpProgram(insns: Uint8Array, name: string, license = 'Dual MIT/GPL'): number {
  const code = scratch(insns.length + license.length + 1);
  code.u8.set(insns, 0);
  for (let i = 0; i < license.length; i++) code.u8[insns.length + i] = license.charCodeAt(i);
  const log = scratch(LOG_SIZE);
  try {
    return bpf(
      BPF_PROG_LOAD,
      `bpf(BPF_PROG_LOAD ${name})`,
      (dv) => {
        dv.setUint32(0, BPF_PROG_TYPE_XDP, true);
        dv.setUint32(4, insns.length / 8, true);
        setPtr(dv, 8, code.m.addr);
        setPtr(dv, 16, code.m.addr + insns.length);
        dv.setUint32(24, 1, true);
        dv.setUint32(28, LOG_SIZE, true);
        setPtr(dv, 32, log.m.addr);
        for (let i = 0; i < Math.min(name.length, 15); i++) dv.setUint8(48 + i, name.charCodeAt(i) & 0x7f);
        dv.setUint32(68, BPF_XDP, true);
      },
      (e) => {
        const end = log.u8.indexOf(0);
        const text = Buffer.from(log.u8.subarray(0, end < 0 ? LOG_SIZE : end))
          .toString('latin1')
          .trim();
        // The verifier's verdict is at the end of its log; keep the tail, which says why.
        const tail = text.length > 4000 ? `…${text.slice(-4000)}` : text;
        return (
          permHint(e) ||
          (tail ? `the verifier refused the program (a tsvs bug: report it with this log):\n${tail}` : 'the kernel refused the program')
        );
      },
    );
  } finally {
    free(code.m);
    free(log.m);
  }
}

/** Attaches an XDP program to `ifindex` (flags: XDP_FLAGS_SKB_MODE or _DRV_MODE); returns the link's fd. */
export function attachXdp(progFd: number, ifindex: number, ifname: string, flags: number): number {
  const mode = flags === XDP_FLAGS_DRV_MODE ? 'native' : 'generic';
  return bpf(
    BPF_LINK_CREATE,
    `bpf(BPF_LINK_CREATE ${mode} XDP on ${ifname})`,
    (dv) => {
      dv.setUint32(0, progFd, true);
      dv.setUint32(4, ifindex, true);
      dv.setUint32(8, BPF_XDP, true);
      dv.setUint32(12, flags, true);
    },
    (e) => attachHint(e, mode, ifname, ifindex),
  );
}

/**
 * What a refused BPF_LINK_CREATE means, and what to do. The kernel answers EINVAL both when the
 * device refuses the mode and when no device has `ifindex` (it went away, or was deleted and
 * created again under a new index, since the engine listed it), so EINVAL looks the name up
 * again (`nameToIndex`: if_nametoindex) before blaming the driver.
 */
export function attachHint(
  e: number,
  mode: 'native' | 'generic',
  ifname: string,
  ifindex: number,
  nameToIndex: (name: string) => number = (n) => libc().ifNameToIndex(n),
): string {
  if (e === 16)
    return `${ifname} already has an XDP program (ip link show ${ifname}; remove it with ip link set ${ifname} xdp off), or use --xdp off`;
  const retry = 'the engine takes an interface up when it appears (start the daemon again if this stopped it)';
  if (e === 22) {
    const now = nameToIndex(ifname);
    if (now === 0)
      return `${ifname} (ifindex ${ifindex}) no longer exists: it went away while XDP was being attached; if it is to be served, bring it back: ${retry}`;
    if (now !== ifindex)
      return `${ifname} is now ifindex ${now}, not ${ifindex}: it was deleted and created again while XDP was being attached; ${retry}`;
  }
  if (e === 95 || e === 524 || e === 22) {
    return mode === 'native'
      ? `the driver of ${ifname} has no native XDP: use --xdp generic or --xdp auto`
      : `${ifname} (ifindex ${ifindex}) refuses generic XDP: use --xdp off`;
  }
  return permHint(e) || 'the kernel refused to attach the program';
}

/** Runs the program once over `frame` (BPF_PROG_TEST_RUN, root only); returns its verdict. */
export function testRunXdp(progFd: number, frame: Uint8Array): number {
  return testRunXdpOut(progFd, frame).verdict;
}

/** As testRunXdp, with the frame as the program left it. */
export function testRunXdpOut(progFd: number, frame: Uint8Array): { verdict: number; out: Uint8Array } {
  const io = scratch(frame.length * 2 + 256);
  io.u8.set(frame, 0);
  let retval = -1;
  let outLen = 0;
  try {
    bpf(
      BPF_PROG_TEST_RUN,
      'bpf(BPF_PROG_TEST_RUN)',
      (dv) => {
        dv.setUint32(0, progFd, true);
        dv.setUint32(8, frame.length, true);
        dv.setUint32(12, frame.length + 256, true);
        setPtr(dv, 16, io.m.addr);
        setPtr(dv, 24, io.m.addr + frame.length);
        dv.setUint32(32, 1, true);
      },
      (e) => permHint(e) || 'the kernel refused to run the program',
      (dv) => {
        retval = dv.getUint32(4, true);
        outLen = dv.getUint32(12, true);
      },
    );
    return { verdict: retval, out: io.u8.slice(frame.length, frame.length + outLen) };
  } finally {
    free(io.m);
  }
}
