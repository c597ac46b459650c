// Descriptor ownership in an epoll worker: what each file descriptor is (the loop dispatches
// its events by it), and one bit per descriptor in memory shared with the daemon's thread, which
// closes them all if this thread dies (raw descriptors outlive the thread). A bit is set after
// the descriptor is made and cleared before it is closed, so it is never stale on a reused
// number. Closing goes through here, so the loop knows when descriptors free up (a listener
// paused for lack of them resumes then).

import type { Libc } from '../../../sys/libc.js';

export class Fds<T extends object> {
  /** What each descriptor is; null when it is not this worker's, or watched by no one. */
  readonly byFd: (T | null)[] = [];
  /** Descriptors closed so far: a change tells that some have freed up. */
  closed = 0;
  /** close() calls that failed (the descriptor is gone all the same on Linux). */
  closeErrors = 0;

  constructor(
    private readonly S: Libc,
    private readonly owned: Uint32Array,
  ) {}

  /** Records a new descriptor `fd` (>= 0) as this worker's, with what it is. */
  own(fd: number, what: T | null): void {
    if (fd >>> 5 < this.owned.length) this.owned[fd >>> 5]! |= 1 << (fd & 31);
    this.byFd[fd] = what;
  }

  /** Records `fd` as watched here but owned by the daemon's thread (a listener it handed over). */
  watch(fd: number, what: T): void {
    this.byFd[fd] = what;
  }

  close(fd: number): void {
    this.byFd[fd] = null;
    if (fd >>> 5 < this.owned.length) this.owned[fd >>> 5]! &= ~(1 << (fd & 31));
    if (this.S.close(fd) < 0) this.closeErrors++;
    this.closed++;
  }
}
