// What the core needs to know of one packet, filled in place by an engine (one reusable
// instance per engine thread, so the per-packet path allocates nothing).

import { AF_INET, AF_INET6, type Af } from '../constants.js';

export class PacketInfo {
  af: Af = AF_INET;
  protocol = 0;
  /** Source and destination address words (w0 only for IPv4), host order. */
  readonly saddr = new Uint32Array(4);
  readonly daddr = new Uint32Array(4);
  sport = 0;
  dport = 0;
  /** Firewall mark of the packet (fwmark services). */
  fwmark = 0;
  /** TCP flags byte, or an sctpEvent() value for SCTP. */
  ev = 0;
  /** L3 length in bytes (what the kernel counts in inbytes/outbytes). */
  len = 0;
  /** A non-first fragment: never schedules (docs/spec/ipvs-kernel.md §7.2). */
  fragment = false;

  /** An IPv6 packet's tuple; addresses as four host-order words. */
  setV6(proto: number, saddr: ArrayLike<number>, sport: number, daddr: ArrayLike<number>, dport: number): this {
    this.af = AF_INET6;
    this.protocol = proto;
    for (let k = 0; k < 4; k++) {
      this.saddr[k] = saddr[k]!;
      this.daddr[k] = daddr[k]!;
    }
    this.sport = sport;
    this.dport = dport;
    return this;
  }

  setV4(proto: number, saddr: number, sport: number, daddr: number, dport: number): this {
    this.af = AF_INET;
    this.protocol = proto;
    this.saddr[0] = saddr;
    this.daddr[0] = daddr;
    this.sport = sport;
    this.dport = dport;
    return this;
  }
}
