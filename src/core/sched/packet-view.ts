// The packet a scheduler sees (SchedPacket), as a view of the engine's PacketInfo, one per core
// and reused for every new conn. Its addresses become Addr objects only when a scheduler reads
// them (dh, sh, mh, lblc and lblcr hash or keep them), so that rr, wrr, lc, wlc and the others
// pick without allocating: building both Addrs up front cost 128 bytes of garbage per new conn
// (a heap sampling of 500,000 new UDP conns through processIn, 2026-12-06).

import { AF_INET, AF_INET6, type Af } from '../constants.js';
import type { PacketInfo } from '../conn/packet.js';
import { Addr } from '../inet.js';
import type { SchedPacket } from './types.js';

export class SchedPacketView implements SchedPacket {
  af: Af = AF_INET;
  protocol = 0;
  sport = 0;
  dport = 0;
  inverse = false;
  private words: { saddr: Uint32Array; daddr: Uint32Array } | null = null;

  /** Points the view at `p` for one schedule() call; the addresses are read from it on demand. */
  of(p: PacketInfo): this {
    this.af = p.af;
    this.protocol = p.protocol;
    this.sport = p.sport;
    this.dport = p.dport;
    this.inverse = false;
    this.words = p;
    return this;
  }

  get saddr(): Addr {
    return toAddr(this.af, this.words!.saddr);
  }

  get daddr(): Addr {
    return toAddr(this.af, this.words!.daddr);
  }
}

function toAddr(af: Af, w: Uint32Array): Addr {
  return af === AF_INET6 ? Addr.v6(w[0]!, w[1]!, w[2]!, w[3]!) : Addr.v4(w[0]!);
}
