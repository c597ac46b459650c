// struct sockaddr_in and sockaddr_in6, built for connect(), bind() and sendto().

import { AF_INET, AF_INET6 } from './constants.js';

export const SOCKADDR_IN_LEN = 16;
export const SOCKADDR_IN6_LEN = 28;

/** struct sockaddr_in / sockaddr_in6 for a 4- or 16-byte address (network order) and a port. */
export function sockaddr(bytes: Uint8Array, port: number): Uint8Array {
  const v6 = bytes.length === 16;
  const b = new Uint8Array(v6 ? SOCKADDR_IN6_LEN : SOCKADDR_IN_LEN);
  const v = new DataView(b.buffer);
  v.setUint16(0, v6 ? AF_INET6 : AF_INET, true);
  v.setUint16(2, port, false);
  b.set(bytes, v6 ? 8 : 4);
  return b;
}
