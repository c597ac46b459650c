// What the data path needs of an interface's receive ring and transmit queue. The real ones are
// RxRing (rxring.ts) and TxQueue (tx.ts); tests put a fake port behind the same shape, which
// captures the frames the forwarder sends without root, sockets or a kernel.

import type { FrameHandler } from './rxring.js';

export interface RxPort {
  /** Socket options that failed without stopping the port (shown in `tsvs status`). */
  readonly warnings?: readonly string[];
  /** The socket to poll (the engine's idle wait); a fake port has none (-1). */
  readonly fd: number;
  /** Frames walked so far, for `tsvs status`. */
  readonly frames: number;
  /** True when the current block belongs to user space. */
  ready(): boolean;
  /** Calls `h` for each frame of the current block, if ready; returns the number of frames. */
  walk(h: FrameHandler): number;
  /**
   * Calls `h` for each frame of the current block, if ready, without walking it: frames are not
   * counted and walk() still sees them all, with the same arguments. The forwarder's warming pass
   * (prefetch) uses it; a port without it is simply not warmed. The bytes at vnetOff may be
   * written by walk() only (the AF_XDP port builds that header itself): `h` reads the frame.
   */
  peek?(h: FrameHandler): number;
  /**
   * Bytes before offset `start` of the frame being walked (its virtio_net_hdr, or Ethernet
   * header) that are free to write until release(): a tunnel header goes there instead of the
   * frame being copied behind one. Absent: none (a packet ring packs frames behind their
   * tpacket headers).
   */
  headroom?(start: number): number;
  /** Hands the current block back (its frames' bytes are the kernel's again). */
  release(): void;
  /** Kernel drop counters since the last call. */
  statistics(): { packets: number; drops: number };
  /** Releases the port; returns what failed (for the log), empty when all went well. */
  close(): string[] | void;
}

export interface TxPort {
  /** Socket options that failed without stopping the port (shown in `tsvs status`). */
  readonly warnings?: readonly string[];
  /** Where frames are built in place: slot() is the next one's offset. */
  readonly arena: Uint8Array;
  /** Frames the kernel refused, counted by flush(). */
  readonly dropped: number;
  slot(): number;
  /** Queues the frame written at slot(), `len` bytes. */
  pushSlot(len: number): void;
  /** Queues `len` bytes at `off` of `rx`'s current block, sent without a copy: flush before release. */
  pushRx(rx: RxPort, off: number, len: number): void;
  /** Copies a frame into the arena and queues it. */
  pushCopy(src: Uint8Array, off: number, len: number): void;
  /** Sends everything queued; returns how many went. */
  flush(): number;
  /** Forgets everything queued without sending it (its frames may point into released blocks); returns how many. */
  discard(): number;
  /** Releases the port; returns what failed (for the log), empty when all went well. */
  close(): string[] | void;
}
