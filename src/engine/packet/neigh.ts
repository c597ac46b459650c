// Next-hop MAC addresses: seeded from the kernel's neighbour table, learned from ARP and from
// on-link clients' frames, and resolved by the engine's own ARP requests when missing. Frames
// for an unresolved next hop wait in a short queue (as the kernel's arp_queue does) and are
// dropped, counted, when resolution fails.

export const NEIGH_QUEUE_MAX = 32;
export const ARP_RETRY_MS = 250;
export const ARP_TRIES = 4;

export class Neigh {
  readonly mac = new Uint8Array(6);
  resolved = false;
  ifindex = 0;
  /** When the last ARP request went out, and how many went out unanswered. */
  reqAt = -1e12;
  tries = 0;
  /** Copies of frames (with their virtio_net_hdr when the sockets use one) waiting for the MAC. */
  pending: Uint8Array[] = [];

  constructor(readonly addr: number) {}
}

export class NeighTable {
  private readonly map = new Map<number, Neigh>();

  get(addr: number): Neigh | undefined {
    return this.map.get(addr);
  }

  has(addr: number): boolean {
    return this.map.has(addr);
  }

  /** Entry for `addr`, created unresolved when missing. */
  entry(addr: number, ifindex: number): Neigh {
    let n = this.map.get(addr);
    if (!n) {
      n = new Neigh(addr);
      n.ifindex = ifindex;
      this.map.set(addr, n);
    }
    return n;
  }

  /** Records a MAC for `addr` (6 bytes of `buf` at `at`); returns the entry. */
  learn(addr: number, ifindex: number, buf: Uint8Array, at: number): Neigh {
    const n = this.entry(addr, ifindex);
    for (let i = 0; i < 6; i++) n.mac[i] = buf[at + i]!;
    n.ifindex = ifindex;
    n.resolved = true;
    n.tries = 0;
    return n;
  }

  forget(addr: number): void {
    this.map.delete(addr);
  }

  values(): IterableIterator<Neigh> {
    return this.map.values();
  }

  get size(): number {
    return this.map.size;
  }
}
