// The flow space of bench/packet-gen.ts's `seq` and `scatter` orders: flow f is a client at
// address base + ⌊f / SPACE_PORTS⌋, port SPACE_PORT_BASE + f mod SPACE_PORTS. Shared by the
// generator and the large-table bench, which must agree on how many addresses N flows need.

/** First source port of a client address: below it are the well-known and the 16 rate-bench ports (20000+). */
export const SPACE_PORT_BASE = 1024;
/** Ports per client address: 1024..65535. */
export const SPACE_PORTS = 65536 - SPACE_PORT_BASE;
/**
 * Step of the `scatter` order: a prime, so coprime to any flow count that is not its multiple,
 * and large, so consecutive frames land about a million conns apart.
 */
export const SPACE_STRIDE = 1_000_003;

/** How many client addresses `flows` flows take. */
export function spaceAddrs(flows: number): number {
  return Math.ceil(flows / SPACE_PORTS);
}
