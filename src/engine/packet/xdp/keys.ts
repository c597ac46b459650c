// The keys of the XDP program's hash map: what the director takes, from the same plan as the
// nftables claim (takes.ts, planTakes' `matches`), so that the two never disagree. A key is 20
// bytes: kind, IP protocol, port (network order), address (network order, IPv4 in the first four
// bytes, the rest zero). The program (prog.ts) builds the same bytes from each frame's headers.
//
// - DST4/DST6: a service's VIP:port (port 0: every port, as a port-less service).
// - SRC4/SRC6: a NAT or FULLNAT real server's address:port, whose replies the director takes.
// - OWN4/OWN6: the director's own addresses: a real server's reply to one of them is the
//   director's own conn's (a health check), which stays the kernel's (the claim's notDaddr).

import { Addr } from '../../../core/inet.js';
import type { IngressMatch } from '../nft.js';

export const KEY_SIZE = 20;
export const KIND_DST4 = 1;
export const KIND_DST6 = 2;
export const KIND_SRC4 = 3;
export const KIND_SRC6 = 4;
export const KIND_OWN4 = 5;
export const KIND_OWN6 = 6;

const PROTO: Record<IngressMatch['proto'], number> = { tcp: 6, udp: 17, sctp: 132 };

/** One key's bytes. */
export function key(kind: number, proto: number, port: number, addr: Addr): Uint8Array {
  const k = new Uint8Array(KEY_SIZE);
  const dv = new DataView(k.buffer);
  k[0] = kind;
  k[1] = proto;
  dv.setUint16(2, port, false);
  dv.setUint32(4, addr.w0, false);
  if (addr.isV6) {
    dv.setUint32(8, addr.w1, false);
    dv.setUint32(12, addr.w2, false);
    dv.setUint32(16, addr.w3, false);
  }
  return k;
}

/** What the program must redirect: the claim's matches and the director's own addresses, as map keys by hex. */
export function xdpKeys(matches: readonly IngressMatch[], own4: Iterable<number>, own6: Iterable<Addr>): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const add = (k: Uint8Array) => out.set(Buffer.from(k).toString('hex'), k);
  for (const m of matches) {
    const proto = PROTO[m.proto];
    const v6 = m.family === 'ip6';
    if (m.daddr !== undefined) {
      const a = Addr.parse(m.daddr);
      if (a) add(key(v6 ? KIND_DST6 : KIND_DST4, proto, m.dport ?? 0, a));
    }
    if (m.saddr !== undefined) {
      const a = Addr.parse(m.saddr);
      if (a) add(key(v6 ? KIND_SRC6 : KIND_SRC4, proto, m.sport ?? 0, a));
    }
  }
  for (const a of own4) add(key(KIND_OWN4, 0, 0, Addr.v4(a)));
  for (const a of own6) add(key(KIND_OWN6, 0, 0, a));
  return out;
}
