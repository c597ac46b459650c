// `-L -c`: the connection table as ipvsadm prints it after reading /proc/net/ip_vs_conn — the
// kernel's protocol names, MM:SS expiry, and the family decided by the client address (so a
// mixed-family real server shows the way ipvsadm mis-parses it). Spec: docs/spec/ipvsadm.md §7.6.

import { AF_INET6, IP_VS_CONN_F_FULLNAT, IPPROTO_IP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../core/constants.js';
import { Addr } from '../core/inet.js';
import type { AdmBackend, AdmConnRow } from './backend.js';
import { type AdmIo, FMT_LADDR_INFO, FMT_PERSISTENTCONN } from './entry.js';
import type { Namer } from './names.js';
import { left } from './printf.js';

const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;

/** ip_vs_proto_name: how the kernel writes a protocol into /proc/net/ip_vs_conn. */
export function kernelProtoName(p: number): string {
  switch (p) {
    case IPPROTO_IP:
      return 'IP';
    case IPPROTO_UDP:
      return 'UDP';
    case IPPROTO_TCP:
      return 'TCP';
    case IPPROTO_SCTP:
      return 'SCTP';
    case IPPROTO_ICMPV6:
      return 'ICMPv6';
    case IPPROTO_ICMP:
      return 'ICMP';
    default:
      return `IP_${p}`;
  }
}

/** ipvsadm maps the name back; anything else is protocol 0 (ports stay numeric). */
function protoFromName(name: string): number {
  if (name === 'TCP') return IPPROTO_TCP;
  if (name === 'UDP') return IPPROTO_UDP;
  if (name === 'SCTP') return IPPROTO_SCTP;
  return 0;
}

/**
 * The real server's address as ipvsadm reads it back: an IPv6 server of an IPv4 conn is
 * parsed with strtoul(…, 16), keeping its first group; an IPv4 server of an IPv6 conn fails
 * inet_pton and leaves ipvsadm's variable unset (shown here as ::).
 */
function destAddrAsRead(c: AdmConnRow): Addr {
  const v6conn = c.af === AF_INET6;
  if (v6conn === c.daddr.isV6) return c.daddr;
  return v6conn ? Addr.v6(0, 0, 0, 0) : Addr.v4(c.daddr.w0 >>> 16);
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * Conns formatted between two flushes of a `-L -c` listing: the longest the daemon's event loop
 * (and so the packet engine's frame loop) waits on a listing. 4,096 took 15-18 ms a piece
 * (2026-12-07, 1 M conns, this 2-core VM): 5,000 frames of a ring at 300 kpps. 1,024 lines are
 * about 80 KB, a quarter of that work; at 1 M conns all but three waits stayed under 15 ms (the
 * longest, 54 ms, one). Before listings were taken in pieces, 1 M conns stopped the event loop
 * for 7.8 s and made one reply of 77 MB, over the protocol's MAX_FRAME, so tsvsadm got none.
 */
export const CONN_LIST_CHUNK = 1024;

export async function listConns(io: AdmIo, backend: AdmBackend, clock: () => number, namer: Namer, format: number): Promise<void> {
  const pc = (format & FMT_PERSISTENTCONN) !== 0;
  const li = (format & FMT_LADDR_INFO) !== 0;
  io.out('IPVS connection entries\n');
  io.out(
    pc
      ? `pro expire ${left('state', 11)} ${left('source', 18)} ${left('virtual', 18)} ${left('destination', 18)} ${left('pe name', 16)} pe_data\n`
      : li
        ? `pro expire ${left('state', 11)} ${left('source', 18)} ${left('virtual', 18)} ${left('destination', 18)} local\n`
        : `pro expire ${left('state', 11)} ${left('source', 18)} ${left('virtual', 18)} destination\n`,
  );
  let from = 0;
  do {
    const rows: AdmConnRow[] = [];
    // A copy: a backend may hand the same row object each time.
    const take = (c: AdmConnRow) => {
      rows.push({ ...c });
    };
    if (backend.forEachConnFrom) {
      from = backend.forEachConnFrom(clock(), from, CONN_LIST_CHUNK, take);
    } else {
      backend.forEachConn(clock(), take);
      from = -1;
    }
    for (const c of rows) {
      const pname = kernelProtoName(c.protocol);
      const proto = protoFromName(pname);
      const cname = await namer.addrPort(c.caddr, c.cport, proto);
      const vname = await namer.addrPort(c.vaddr, c.vport, proto);
      const dname = await namer.addrPort(destAddrAsRead(c), c.dport, proto);
      const exp = `${pad2(Math.floor(c.expires / 60))}:${pad2(c.expires % 60)}`;
      const head = `${left(pname, 3)} ${left(exp, 6)} ${left(c.state, 11)} ${left(cname, 18)} ${left(vname, 18)}`;
      if (pc && c.peName !== undefined && c.peData !== undefined) {
        io.out(`${head} ${left(dname, 16)} ${left(c.peName, 18)} ${c.peData}\n`);
      } else if (li) {
        const local = c.fwd === IP_VS_CONN_F_FULLNAT ? await namer.addrPort(c.laddr, c.lport, proto) : '-';
        io.out(`${head} ${left(dname, 18)} ${local}\n`);
      } else {
        io.out(`${head} ${dname}\n`);
      }
    }
    if (from >= 0) await io.flush();
  } while (from >= 0);
}
