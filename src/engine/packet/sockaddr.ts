// struct sockaddr_ll, for binding packet sockets to one interface.

import { AF_PACKET } from './constants.js';

export const SOCKADDR_LL_LEN = 20;

/** sockaddr_ll { family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8] }. */
export function sockaddrLl(ifindex: number, protocolBe: number): Uint8Array {
  const b = new Uint8Array(SOCKADDR_LL_LEN);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_PACKET, true);
  dv.setUint16(2, protocolBe, true); // already byte-swapped: stored as the C value
  dv.setInt32(4, ifindex, true);
  return b;
}

export function int32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}
