// The packet engine's view of the kernel's links, addresses, routes and neighbours, followed
// over one rtnetlink socket: subscribed to the link, address, route and neighbour groups, then
// filled by four dumps (RTM_GETLINK, GETADDR, GETROUTE, GETNEIGH with NLM_F_DUMP), one at a time
// since the kernel runs one dump per socket, each reply checked against its sequence number.
// Notifications are applied as they come. When the socket overran (ENOBUFS: notifications were
// lost), everything is dumped again. Non-blocking: pump() reads what is there and returns.

import {
  AF_NETLINK,
  EAGAIN,
  EBUSY,
  EINTR,
  ENOBUFS,
  errnoName,
  MSG_DONTWAIT,
  MSG_TRUNC,
  NETLINK_ROUTE,
  POLLIN,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOCKADDR_NL_LEN,
  SOL_SOCKET,
} from '../../sys/constants.js';
import { check, libc } from '../../sys/libc.js';
import { RTNL_DUMP_TIMEOUT_MS, RTNL_RCVBUF, RTNL_RECV_LEN, RTNL_RECV_PER_PUMP } from './constants.js';
import {
  decodeError,
  dumpRequest,
  FAMILY_UNSPEC,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_OVERRUN,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETNEIGH,
  RTM_GETROUTE,
  RTMGRP_IPV4_IFADDR,
  RTMGRP_IPV4_ROUTE,
  RTMGRP_IPV6_IFADDR,
  RTMGRP_IPV6_ROUTE,
  RTMGRP_LINK,
  RTMGRP_NEIGH,
  splitMessages,
} from './rtnl-codec.js';
import { RtnlState } from './rtnl-state.js';
import { int32 } from './sockaddr.js';

const GROUPS = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_NEIGH;
/** Links first: addresses, routes and neighbours name them by index. */
const ALL_DUMPS = [RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE, RTM_GETNEIGH];
const DUMP_NAMES: Readonly<Record<number, string>> = {
  [RTM_GETLINK]: 'links',
  [RTM_GETADDR]: 'addresses',
  [RTM_GETROUTE]: 'routes',
  [RTM_GETNEIGH]: 'neighbours',
};

export class Rtnl {
  readonly state = new RtnlState();
  private readonly buf = new Uint8Array(RTNL_RECV_LEN);
  private seq = 0;
  /** Sequence number and type of the dump in flight (0: none). */
  private inflight = 0;
  private inflightType = 0;
  /** The dump in flight started before an overrun: its replies are stale, skip them. */
  private stale = false;
  private queue: number[] = [];
  notifications = 0;
  overruns = 0;
  dumps = 0;
  /** The last failure (a dump refused, a recv error), for `tsvs status`; null when none. */
  error: string | null = null;

  private constructor(
    readonly fd: number,
    /** The port id the kernel gave the socket: dump replies carry it, notifications do not. */
    private readonly portId: number,
  ) {}

  /** Opens the socket, subscribed to every group the engine follows. Needs Linux; errors name the call. */
  static open(): Rtnl {
    const c = libc();
    const fd = check('socket(AF_NETLINK, NETLINK_ROUTE)', c.socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
    try {
      // Past net.core.rmem_max as root; otherwise as much as rmem_max allows (overruns re-dump).
      if (c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, int32(RTNL_RCVBUF), 4) < 0) {
        c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, int32(RTNL_RCVBUF), 4);
      }
      const sa = new Uint8Array(SOCKADDR_NL_LEN);
      const dv = new DataView(sa.buffer);
      dv.setUint16(0, AF_NETLINK, true);
      dv.setUint32(8, GROUPS, true);
      check('bind(netlink route groups)', c.bind(fd, sa, SOCKADDR_NL_LEN));
      const len = new Int32Array([SOCKADDR_NL_LEN]);
      check('getsockname(netlink)', c.getsockname(fd, sa, len));
      return new Rtnl(fd, dv.getUint32(4, true));
    } catch (e) {
      c.close(fd);
      throw e;
    }
  }

  /** True once every requested dump has finished (the state is whole). */
  get synced(): boolean {
    return this.inflight === 0 && this.queue.length === 0;
  }

  /** Dumps everything again (at start, and after an overrun lost notifications). */
  dumpAll(): void {
    this.queue = [...ALL_DUMPS];
    if (this.inflight !== 0) this.stale = true;
    this.sendNext();
  }

  /** Dumps the start-up state, waiting for it (bounded by RTNL_DUMP_TIMEOUT_MS). */
  dumpAllSync(): void {
    const c = libc();
    const pfd = new Uint8Array(8);
    const dv = new DataView(pfd.buffer);
    dv.setInt32(0, this.fd, true);
    dv.setInt16(4, POLLIN, true);
    const deadline = Date.now() + RTNL_DUMP_TIMEOUT_MS;
    this.dumpAll();
    while (!this.synced) {
      if (Date.now() > deadline) {
        throw new Error(
          `the kernel's ${DUMP_NAMES[this.inflightType] ?? 'network state'} did not arrive over rtnetlink within ${RTNL_DUMP_TIMEOUT_MS} ms${this.error ? ` (${this.error})` : ''}; check that the namespace is reachable and retry`,
        );
      }
      c.poll(pfd, 1, 100);
      this.pump();
    }
  }

  private sendNext(): void {
    if (this.inflight !== 0) return;
    const type = this.queue.shift();
    if (type === undefined) return;
    this.seq = (this.seq + 1) >>> 0 || 1;
    const req = dumpRequest(type, FAMILY_UNSPEC, this.seq);
    const c = libc();
    if (c.send(this.fd, req, req.length, 0) !== req.length) {
      const e = c.errno();
      this.error = `sending the ${DUMP_NAMES[type]} dump request failed: ${errnoName(e)}`;
      this.queue.unshift(type); // retried on the next pump
      return;
    }
    this.state.clear(type);
    this.inflight = this.seq;
    this.inflightType = type;
    this.dumps++;
  }

  /**
   * Reads and applies what the socket holds, up to RTNL_RECV_PER_PUMP datagrams; true when it
   * stopped at that bound (more may wait). Queues a route dump when the kernel flushed routes silently.
   */
  pump(): boolean {
    const c = libc();
    const buf = this.buf;
    let more = false;
    for (let i = 0; ; i++) {
      if (i === RTNL_RECV_PER_PUMP) {
        more = true;
        break;
      }
      const n = c.recv(this.fd, buf, buf.length, MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0) {
        const e = c.errno();
        if (e === EAGAIN) break;
        if (e === EINTR) continue;
        if (e === ENOBUFS) {
          this.overrun();
          continue;
        }
        this.error = `reading the netlink socket failed: ${errnoName(e)}`;
        break;
      }
      if (n > buf.length) {
        // Cannot happen with the kernel's dump sizes; if it does, what was cut is lost: start over.
        this.overrun();
        continue;
      }
      this.datagram(n);
    }
    if (this.state.routesStale && this.synced) {
      this.state.routesStale = false;
      this.queue.push(RTM_GETROUTE);
    }
    this.sendNext();
    return more;
  }

  private overrun(): void {
    this.overruns++;
    this.dumpAll();
  }

  private datagram(len: number): void {
    const { msgs, bad } = splitMessages(this.buf, len);
    if (bad) this.error = `a netlink datagram of ${len} bytes was malformed; kept the ${msgs.length} messages before the fault`;
    for (const m of msgs) {
      if (m.pid !== this.portId || m.seq === 0) {
        // A notification (it carries the port id of whoever made the change, never ours).
        if (m.type === NLMSG_OVERRUN) this.overrun();
        else {
          this.notifications++;
          this.state.apply(this.buf, m);
        }
        continue;
      }
      if (m.seq !== this.inflight) continue; // a reply to a dump we gave up
      if (m.type === NLMSG_DONE) {
        this.finish();
      } else if (m.type === NLMSG_ERROR) {
        const e = decodeError(this.buf, m);
        if (e === EBUSY) this.queue.unshift(this.inflightType);
        else if (e !== 0) this.error = `the kernel refused the ${DUMP_NAMES[this.inflightType]} dump: ${errnoName(e)}`;
        this.finish();
      } else if (!this.stale) {
        this.state.apply(this.buf, m);
      }
    }
  }

  private finish(): void {
    this.inflight = 0;
    this.inflightType = 0;
    this.stale = false;
    this.sendNext();
  }

  close(): void {
    libc().close(this.fd);
  }
}
