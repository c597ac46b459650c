// The rtnetlink codec and state on byte vectors written by hand from the kernel's structure
// layouts: struct nlmsghdr (len u32, type u16, flags u16, seq u32, pid u32), ifinfomsg
// (family u8, pad u8, type u16, index s32, flags u32, change u32), ifaddrmsg (family,
// prefixlen, flags, scope u8; index u32), rtmsg (family, dst_len, src_len, tos, table,
// protocol, scope, type u8; flags u32), ndmsg (family u8, pad u8, pad u16, ifindex s32,
// state u16, flags u8, type u8), rtattr (len u16, type u16, payload padded to 4). Host order
// is little-endian on every architecture the project builds for.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeAddr,
  decodeError,
  decodeLink,
  decodeNeigh,
  decodeRoute,
  dumpRequest,
  NLMSG_DONE,
  NLMSG_ERROR,
  RTM_DELROUTE,
  RTM_GETLINK,
  RTM_GETROUTE,
  RTM_NEWLINK,
  splitMessages,
} from '../../../src/engine/packet/rtnl-codec.js';
import { RtnlState } from '../../../src/engine/packet/rtnl-state.js';

const hex = (s: string): Uint8Array =>
  Uint8Array.from(
    s
      .replace(/#[^\n]*/g, '')
      .match(/[0-9a-f]{2}/g)!
      .map((x) => parseInt(x, 16)),
  );

/** RTM_NEWLINK, dump reply (NLM_F_MULTI), seq 7, port 0x1234: d0, ifindex 3, up, ether, mtu 1500. */
const LINK_D0 = hex(`
  3c000000 1000 0200 07000000 34120000   # nlmsghdr: len 60, RTM_NEWLINK, NLM_F_MULTI
  00 00 0100 03000000 43100000 00000000  # ifinfomsg: AF_UNSPEC, ARPHRD_ETHER, index 3, UP|BROADCAST|RUNNING|MULTICAST
  0700 0300 64 30 00 00                  # IFLA_IFNAME "d0\\0" + pad
  0800 0400 dc050000                     # IFLA_MTU 1500
  0a00 0100 02aabbccddee 0000            # IFLA_ADDRESS 02:aa:bb:cc:dd:ee + pad
`);

/** The same link set down (flags 0x1002), as a notification from another process's port. */
const LINK_D0_DOWN = hex(`
  3c000000 1000 0000 99000000 77770000
  00 00 0100 03000000 02100000 01000000
  0700 0300 64 30 00 00
  0800 0400 dc050000
  0a00 0100 02aabbccddee 0000
`);

/** RTM_NEWADDR: 10.73.1.1/24 on ifindex 3, peer IFA_ADDRESS 10.73.1.9 (IFA_LOCAL is the address). */
const ADDR4 = hex(`
  34000000 1400 0000 00000000 00000000   # len 52, RTM_NEWADDR
  02 18 80 00 03000000                   # AF_INET, /24, IFA_F_PERMANENT, universe, index 3
  0800 0100 0a490109                     # IFA_ADDRESS 10.73.1.9
  0800 0200 0a490101                     # IFA_LOCAL 10.73.1.1
  0c00 0300 6430 00 00 00 00 00 00       # IFA_LABEL "d0" (ignored)
`);

/** RTM_NEWADDR: 2001:db8::1/64 on ifindex 3 (IPv6 has IFA_ADDRESS only). */
const ADDR6 = hex(`
  2c000000 1400 0000 00000000 00000000   # len 44
  0a 40 80 00 03000000
  1400 0100 20010db8000000000000000000000001
`);

/** RTM_NEWROUTE 10.99.0.0/16 via 10.73.1.2 dev 3, table main, unicast. */
const ROUTE4 = hex(`
  3c000000 1800 0000 00000000 00000000   # len 60, RTM_NEWROUTE
  02 10 00 00 fe 03 00 01 00000000       # AF_INET, dst_len 16, tos 0, RT_TABLE_MAIN, boot, universe, RTN_UNICAST
  0800 0f00 fe000000                     # RTA_TABLE 254
  0800 0100 0a630000                     # RTA_DST 10.99.0.0
  0800 0500 0a490102                     # RTA_GATEWAY 10.73.1.2
  0800 0400 03000000                     # RTA_OIF 3
`);

/** RTM_DELROUTE of the same route. */
const ROUTE4_DEL = ROUTE4.slice();
ROUTE4_DEL[4] = RTM_DELROUTE;

/** RTM_NEWROUTE: IPv6 default via fe80::1 dev 3, metric 1024, table main. */
const ROUTE6_DEFAULT = hex(`
  48000000 1800 0000 00000000 00000000   # len 72
  0a 00 00 00 fe 03 00 01 00000000       # AF_INET6, dst_len 0, main, unicast
  0800 0f00 fe000000                     # RTA_TABLE 254
  0800 0600 00040000                     # RTA_PRIORITY 1024
  1400 0500 fe800000000000000000000000000001  # RTA_GATEWAY fe80::1
  0800 0400 03000000                     # RTA_OIF 3
`);

/** RTM_NEWROUTE in table local (255), type RTN_LOCAL (2): not the main table's business. */
const ROUTE4_LOCAL = hex(`
  34000000 1800 0000 00000000 00000000   # len 52
  02 20 00 00 ff 02 fe 02 00000000
  0800 0100 0a490101
  0800 0400 03000000
  0800 0f00 ff000000
`);

/** RTM_NEWNEIGH 10.73.2.2 lladdr 02:00:00:00:00:07 on ifindex 3, NUD_REACHABLE. */
const NEIGH4 = hex(`
  30000000 1c00 0000 00000000 00000000   # len 48, RTM_NEWNEIGH
  02 00 0000 03000000 0200 00 01         # AF_INET, ifindex 3, NUD_REACHABLE, flags 0, RTN_UNICAST
  0800 0100 0a490202                     # NDA_DST 10.73.2.2
  0a00 0200 020000000007 0000            # NDA_LLADDR + pad
`);

/** RTM_NEWNEIGH 10.73.2.3, NUD_INCOMPLETE, no lladdr: nothing to learn. */
const NEIGH4_INCOMPLETE = hex(`
  24000000 1c00 0000 00000000 00000000
  02 00 0000 03000000 0100 00 01
  0800 0100 0a490203
`);

const DONE = hex(`14000000 0300 0200 07000000 34120000 00000000`);
/** NLMSG_ERROR -EBUSY (-16) for the request of seq 7 (its header follows). */
const ERROR_EBUSY = hex(`
  24000000 0200 0000 07000000 34120000
  f0ffffff
  1c000000 1a00 0103 07000000 00000000
`);

const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** The one message of a vector. */
const one = (b: Uint8Array) => {
  const { msgs, bad } = splitMessages(b, b.length);
  assert.equal(bad, false);
  assert.equal(msgs.length, 1);
  return msgs[0]!;
};

describe('rtnetlink codec', () => {
  it('builds a dump request: nlmsghdr REQUEST|DUMP then the GET type’s zeroed family header', () => {
    assert.deepEqual(dumpRequest(RTM_GETROUTE, 0, 5), hex(`1c000000 1a00 0103 05000000 00000000 000000000000000000000000`));
    assert.deepEqual(dumpRequest(RTM_GETLINK, 0, 1), hex(`20000000 1200 0103 01000000 00000000 00000000000000000000000000000000`));
  });

  it('splits a datagram into its messages, aligned to 4, and flags a truncated one', () => {
    const dgram = cat(LINK_D0, ADDR4, DONE);
    const { msgs, bad } = splitMessages(dgram, dgram.length);
    assert.equal(bad, false);
    assert.deepEqual(
      msgs.map((m) => [m.type, m.flags, m.seq, m.pid, m.off, m.len]),
      [
        [RTM_NEWLINK, 2, 7, 0x1234, 0, 60],
        [20, 0, 0, 0, 60, 52],
        [NLMSG_DONE, 2, 7, 0x1234, 112, 20],
      ],
    );
    const cut = splitMessages(dgram, dgram.length - 4);
    assert.equal(cut.bad, true);
    assert.equal(cut.msgs.length, 2, 'the messages before the fault are kept');
    const zeroLen = splitMessages(new Uint8Array(16), 16);
    assert.deepEqual([zeroLen.msgs.length, zeroLen.bad], [0, true], 'a zero nlmsg_len cannot loop forever');
  });

  it('decodes a link: index, name, MAC, MTU, up, Ethernet', () => {
    assert.deepEqual(decodeLink(LINK_D0, one(LINK_D0)), {
      ifindex: 3,
      name: 'd0',
      mac: '02:aa:bb:cc:dd:ee',
      mtu: 1500,
      up: true,
      ether: true,
    });
    assert.equal(decodeLink(LINK_D0_DOWN, one(LINK_D0_DOWN))!.up, false);
  });

  it('decodes addresses: IPv4 prefers IFA_LOCAL over a peer IFA_ADDRESS; IPv6 has IFA_ADDRESS', () => {
    const a = decodeAddr(ADDR4, one(ADDR4))!;
    assert.deepEqual([a.family, a.ifindex, a.prefix, [...a.addr]], [2, 3, 24, [10, 73, 1, 1]]);
    const b = decodeAddr(ADDR6, one(ADDR6))!;
    assert.deepEqual([b.family, b.ifindex, b.prefix, b.addr.length, b.addr[15]], [10, 3, 64, 16, 1]);
  });

  it('decodes routes: destination, gateway, oif, table, type, priority', () => {
    const r = decodeRoute(ROUTE4, one(ROUTE4))!;
    assert.deepEqual(
      [r.family, r.dstLen, r.table, r.type, [...r.dst], [...r.gateway!], r.oif, r.priority, r.multipath],
      [2, 16, 254, 1, [10, 99, 0, 0], [10, 73, 1, 2], 3, 0, false],
    );
    const d = decodeRoute(ROUTE6_DEFAULT, one(ROUTE6_DEFAULT))!;
    assert.deepEqual(
      [d.family, d.dstLen, d.priority, d.oif, d.dst.every((x) => x === 0), d.gateway![0], d.gateway![15]],
      [10, 0, 1024, 3, true, 0xfe, 1],
    );
  });

  it('decodes neighbours and errors', () => {
    const n = decodeNeigh(NEIGH4, one(NEIGH4))!;
    assert.deepEqual([n.family, n.ifindex, n.state, [...n.dst], n.lladdr], [2, 3, 2, [10, 73, 2, 2], '02:00:00:00:00:07']);
    assert.equal(decodeNeigh(NEIGH4_INCOMPLETE, one(NEIGH4_INCOMPLETE))!.lladdr, '');
    const e = one(ERROR_EBUSY);
    assert.equal(e.type, NLMSG_ERROR);
    assert.equal(decodeError(ERROR_EBUSY, e), 16);
  });

  it('rejects short messages instead of reading past them', () => {
    const short = hex(`14000000 1000 0000 00000000 00000000 00000000`);
    assert.equal(decodeLink(short, one(short)), null);
    // An attribute whose length runs past the message ends the walk.
    const badAttr = cat(LINK_D0.slice(0, 32), hex(`ff00 0300 64300000`));
    new DataView(badAttr.buffer).setUint32(0, badAttr.length, true);
    assert.deepEqual(decodeLink(badAttr, one(badAttr)), { ifindex: 3, name: '', mac: '', mtu: 0, up: true, ether: true });
  });
});

describe('rtnetlink state: messages to the engine’s NetInfo', () => {
  const apply = (s: RtnlState, ...vs: Uint8Array[]) => {
    for (const v of vs) s.apply(v, one(v));
  };

  it('keeps links, addresses, main-table unicast routes and usable neighbours in netinfo shapes', () => {
    const s = new RtnlState();
    apply(s, LINK_D0, ADDR4, ADDR6, ROUTE4, ROUTE6_DEFAULT, ROUTE4_LOCAL, NEIGH4, NEIGH4_INCOMPLETE);
    assert.equal(s.netChanged, true);
    const info = s.netInfo();
    assert.equal(s.netChanged, false);
    assert.deepEqual(info.links, [{ name: 'd0', ifindex: 3, mac: '02:aa:bb:cc:dd:ee', mtu: 1500, up: true, ether: true }]);
    assert.deepEqual(info.addrs, [{ ifindex: 3, addr: 0x0a490101, prefix: 24 }]);
    assert.deepEqual(
      info.addrs6.map((a) => [a.ifindex, a.addr.toString(), a.prefix]),
      [[3, '2001:db8::1', 64]],
    );
    assert.deepEqual(info.routes, [{ dst: '10.99.0.0/16', gateway: '10.73.1.2', ifindex: 3 }]);
    assert.deepEqual(info.routes6, [{ dst: 'default', gateway: 'fe80::1', ifindex: 3 }]);
    assert.deepEqual(info.neighs, [{ addr: 0x0a490202, ifindex: 3, mac: '02:00:00:00:00:07' }]);
    assert.deepEqual(s.netInfo().neighs, [], 'neighbours are handed over once, as updates');
  });

  it('follows deletions, keeps repeated news quiet, and asks for routes again when a link goes down', () => {
    const s = new RtnlState();
    apply(s, LINK_D0, ROUTE4);
    s.netInfo();
    apply(s, LINK_D0, ADDR4);
    s.netInfo();
    apply(s, LINK_D0, ADDR4);
    assert.equal(s.netChanged, false, 'the same link and address again change nothing');
    apply(s, ROUTE4_DEL);
    assert.equal(s.netChanged, true);
    assert.deepEqual(s.netInfo().routes, []);
    assert.equal(s.routesStale, false);
    apply(s, LINK_D0_DOWN);
    assert.equal(s.routesStale, true, 'the kernel flushes IPv4 routes of a downed link without telling');
    assert.equal(s.netInfo().links[0]!.up, false);
  });

  it('starts a kind afresh when its dump begins', () => {
    const s = new RtnlState();
    apply(s, LINK_D0, ROUTE4);
    s.netInfo();
    s.clear(RTM_GETROUTE);
    assert.equal(s.netChanged, true);
    const info = s.netInfo();
    assert.deepEqual(info.routes, []);
    assert.equal(info.links.length, 1);
  });

  it('ignores messages of other families and types', () => {
    const s = new RtnlState();
    const bridge = ADDR4.slice();
    bridge[16] = 7; // AF_BRIDGE
    apply(s, bridge, DONE);
    assert.equal(s.netChanged, false);
    assert.deepEqual(s.netInfo().addrs, []);
  });
});
