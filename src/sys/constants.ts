// The C constants the system-call users share (both engines and the real-server agent), from
// <sys/socket.h>, <netinet/in.h>, <netinet/tcp.h>, <sys/epoll.h>, <sys/mman.h>, <poll.h> and
// <errno.h> on Linux (and, for VRRP, <linux/in6.h>'s multicast and packet-info options). x86-64 and arm64 agree on every value here, except struct epoll_event's
// layout, which is given per architecture. Constants of one subsystem only (AF_PACKET rings)
// stay with it (engine/packet/constants.ts).

export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
/** <linux/netlink.h>: the packet engine follows links, addresses, routes, neighbours (rtnl.ts). */
export const AF_NETLINK = 16;
export const NETLINK_ROUTE = 0;
/** sizeof(struct sockaddr_nl): family u16, pad u16, nl_pid u32, nl_groups u32. */
export const SOCKADDR_NL_LEN = 12;
/** Link-layer frames (VRRP's gratuitous ARP and unsolicited NA). */
export const AF_PACKET = 17;

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;

export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_ERROR = 4;
export const SO_RCVBUF = 8;
export const SO_LINGER = 13;
export const SO_REUSEPORT = 15;
/** SO_RCVBUF past net.core.rmem_max (needs CAP_NET_ADMIN). */
export const SO_RCVBUFFORCE = 33;
export const SO_BINDTODEVICE = 25;

export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_RAW = 255;
export const TCP_NODELAY = 1;
export const SHUT_WR = 1;

export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_ADD_MEMBERSHIP = 20;
export const IPV6_RECVPKTINFO = 49;
export const IPV6_PKTINFO = 50;
export const IPV6_RECVHOPLIMIT = 51;
export const IPV6_HOPLIMIT = 52;

export const MSG_DONTWAIT = 0x40;
/** recv(): return the datagram's real length even when it did not fit (netlink honours it). */
export const MSG_TRUNC = 0x20;
/** send(): more is coming (the proxy: the FIN), so the kernel holds the segment to carry it. */
export const MSG_MORE = 0x8000;

export const EINTR = 4;
export const EAGAIN = 11;
export const EBUSY = 16;
export const EMFILE = 24;
export const ENFILE = 23;
export const ENOBUFS = 105;
export const ENOMEM = 12;
export const ENOTCONN = 107;
export const ECONNREFUSED = 111;
export const EINPROGRESS = 115;

/** Names of the errno values the engines report (others are shown as "errno N"). */
export const ERRNO_NAMES: Readonly<Record<number, string>> = {
  12: 'ENOMEM',
  13: 'EACCES',
  23: 'ENFILE',
  24: 'EMFILE',
  32: 'EPIPE',
  97: 'EAFNOSUPPORT',
  98: 'EADDRINUSE',
  99: 'EADDRNOTAVAIL',
  101: 'ENETUNREACH',
  104: 'ECONNRESET',
  105: 'ENOBUFS',
  107: 'ENOTCONN',
  110: 'ETIMEDOUT',
  111: 'ECONNREFUSED',
  113: 'EHOSTUNREACH',
};

export function errnoName(e: number): string {
  return ERRNO_NAMES[e] ?? `errno ${e}`;
}

export const EPOLLIN = 0x1;
export const EPOLLOUT = 0x4;
export const EPOLLERR = 0x8;
export const EPOLLHUP = 0x10;
export const EPOLLRDHUP = 0x2000;
export const EPOLLET = 0x80000000;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
/** struct epoll_event is packed on x86-64 (12 bytes), naturally aligned elsewhere (16). */
export const EPOLL_EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
export const EPOLL_DATA_OFF = process.arch === 'x64' ? 4 : 8;

export const POLLIN = 1;
export const POLLERR = 8;

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;
export const MAP_PRIVATE = 2;
export const MAP_ANONYMOUS = 0x20;
