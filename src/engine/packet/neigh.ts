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
  /** The IPv6 address of an IPv6 neighbour (then `addr` is its hash key); null for IPv4. */
  addr6: Uint32Array | null = null;

  constructor(readonly addr: number) {}
}

export class NeighTable {
  private readonly map = new Map<number, Neigh>();
  /** Resolved neighbours that moved to another MAC or interface (the XDP fast path's entries hold MACs). */
  moves = 0;

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
    if (n.resolved && (n.ifindex !== ifindex || !sameBytes(n.mac, buf, at))) this.moves++;
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

/** A four-word address hashed to a number: the key of an IPv6 neighbour's bucket. */
function key6(a: ArrayLike<number>): number {
  let h = Math.imul(a[0]! ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ a[1]! ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ a[2]! ^ (h >>> 16), 0x27d4eb2f);
  return (h ^ a[3]! ^ (h >>> 15)) >>> 0;
}

function same6(n: Neigh, a: ArrayLike<number>): boolean {
  const w = n.addr6!;
  return w[0] === a[0] && w[1] === a[1] && w[2] === a[2] && w[3] === a[3];
}

/** IPv6 next hops (learned from NDP, seeded from the kernel), looked up by four-word address. */
export class NeighTable6 {
  private readonly map = new Map<number, Neigh[]>();

  get(a: ArrayLike<number>): Neigh | undefined {
    const b = this.map.get(key6(a));
    if (!b) return undefined;
    for (const n of b) if (same6(n, a)) return n;
    return undefined;
  }

  entry(a: ArrayLike<number>, ifindex: number): Neigh {
    const k = key6(a);
    let b = this.map.get(k);
    if (!b) {
      b = [];
      this.map.set(k, b);
    }
    for (const n of b) if (same6(n, a)) return n;
    const n = new Neigh(k);
    n.addr6 = Uint32Array.from({ length: 4 }, (_, i) => a[i]!);
    n.ifindex = ifindex;
    b.push(n);
    return n;
  }

  learn(a: ArrayLike<number>, ifindex: number, buf: Uint8Array, at: number): Neigh {
    const n = this.entry(a, ifindex);
    for (let i = 0; i < 6; i++) n.mac[i] = buf[at + i]!;
    n.ifindex = ifindex;
    n.resolved = true;
    n.tries = 0;
    return n;
  }

  *values(): IterableIterator<Neigh> {
    for (const b of this.map.values()) yield* b;
  }
}

function sameBytes(mac: Uint8Array, buf: Uint8Array, at: number): boolean {
  for (let i = 0; i < 6; i++) if (mac[i] !== buf[at + i]) return false;
  return true;
}
