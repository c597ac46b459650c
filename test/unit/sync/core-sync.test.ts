// A master core and a backup core joined by the sync codec, as two directors are joined by the
// sync daemons: what the master sends (ip_vs_sync_conn), how the backup creates and updates
// conns (ip_vs_proc_conn), and that the backup then forwards a connection's next segments to
// the same real server without scheduling it again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TCP_ACK, TCP_FIN, TCP_SYN } from '../../../src/core/conn/tcp.js';
import {
  IP_VS_CONN_F_DROUTE,
  IP_VS_CONN_F_FULLNAT,
  IP_VS_CONN_F_MASQ,
  IP_VS_CONN_F_SYNC,
  IP_VS_SVC_F_PERSISTENT,
  IPPROTO_TCP,
  type FwdMethod,
} from '../../../src/core/constants.js';
import { Ipvs, packet4, PacketInfo, VERDICT_ACCEPT } from '../../../src/core/ipvs.js';
import { decodeMessage, SyncEntry, SyncPacker, SyncRxStats } from '../../../src/sync/codec.js';
import { addr, destSpec, makeEnv, svcSpec } from '../../helpers/rules.js';

const VIP = '192.0.2.10';
const VIP6 = '2001:db8::10';

interface Pair {
  master: Ipvs;
  backup: Ipvs;
  /** Sends what the master queued to the backup; returns the number of entries applied. */
  flush(now: number): number;
  sent: number[];
}

function pair(
  o: { fwd?: FwdMethod; flags?: number; timeout?: number; rips?: string[]; backupRips?: string[]; v6?: boolean; laddrs?: string[] } = {},
): Pair {
  const make = (rips: string[]) => {
    const ipvs = new Ipvs({ env: makeEnv() });
    const key = svcSpec(o.v6 ? VIP6 : VIP, 80, {
      schedName: 'rr',
      flags: o.flags ?? 0,
      timeout: o.timeout ?? 0,
      laddrs: (o.laddrs ?? []).map(addr),
    });
    ipvs.rules.addService(key, 0);
    for (const r of rips) ipvs.rules.addDest(key, destSpec(r, o.fwd === IP_VS_CONN_F_DROUTE ? 80 : 8080, 1, o.fwd ?? IP_VS_CONN_F_MASQ), 0);
    return ipvs;
  };
  const rips = o.rips ?? (o.v6 ? ['2001:db8:1::1', '2001:db8:1::2'] : ['10.0.0.1', '10.0.0.2']);
  const master = make(rips);
  const backup = make(o.backupRips ?? rips);
  const sent: number[] = [];
  const msgs: Uint8Array[] = [];
  const packer = new SyncPacker(0, 1472, 1, (m) => msgs.push(m));
  const e = new SyncEntry();
  master.setSyncSink((ref) => {
    sent.push(ref);
    master.fillSync(ref, e);
    packer.add(e, 0);
  });
  const rx = new SyncEntry();
  const flush = (now: number) => {
    packer.flush();
    const stats = new SyncRxStats();
    for (const m of msgs.splice(0)) decodeMessage(m, 0, rx, (x) => backup.applySync(x, now), stats);
    return stats.entries;
  };
  return { master, backup, flush, sent };
}

const words = (a: { word(i: number): number }) => [0, 1, 2, 3].map((k) => a.word(k));

const tcp = (client: string, cport: number, flags: number, vip = VIP) => packet4(IPPROTO_TCP, client, cport, vip, 80, flags, 60);

/** A client's SYN and then `acks` ACK segments through `ipvs`; returns the conn ref. */
function connect(ipvs: Ipvs, client: string, cport: number, acks: number, now = 0): number {
  const ref = ipvs.processIn(tcp(client, cport, TCP_SYN), now);
  for (let k = 0; k < acks; k++) ipvs.processIn(tcp(client, cport, TCP_ACK), now);
  return ref;
}

describe('sync between a master core and a backup core', () => {
  it('an established NAT conn reaches the backup at its 3rd packet; the backup forwards its next segment to the same real server', () => {
    const { master, backup, flush, sent } = pair();
    const ref = connect(master, '198.51.100.1', 40000, 1);
    assert.equal(sent.length, 0, 'two packets: not yet');
    master.processIn(tcp('198.51.100.1', 40000, TCP_ACK), 0);
    assert.deepEqual(sent, [ref]);
    assert.equal(flush(5), 1);
    const mine = master.connDest(ref)!;
    const b = backup.processIn(tcp('198.51.100.1', 40000, TCP_ACK), 10);
    assert.notEqual(b, VERDICT_ACCEPT, 'a mid-stream ACK finds the synced conn');
    const d = backup.connDest(b)!;
    assert.equal(d.addr.toString(), mine.addr.toString());
    assert.equal(backup.connDport(b), 8080);
    assert.equal(backup.connState(b), master.connState(ref));
    assert.ok(backup.connFlags(b) & IP_VS_CONN_F_SYNC);
    assert.equal(d.activeConns, 1);
    assert.equal(backup.connExpiresIn(b), 900);
    assert.equal(d.stats.snapshot().conns, 0n, 'a synced conn is not counted as scheduled');
  });

  it('a FIN is sent at once and moves the backup conn out of the active count', () => {
    const { master, backup, flush, sent } = pair();
    const ref = connect(master, '198.51.100.2', 40001, 3);
    flush(0);
    const before = sent.length;
    master.processIn(tcp('198.51.100.2', 40001, TCP_FIN | TCP_ACK), 1);
    assert.equal(sent.length, before + 1);
    flush(2);
    const b = backup.processIn(tcp('198.51.100.2', 40001, TCP_ACK), 3);
    const d = backup.connDest(b)!;
    assert.equal(backup.connState(b), master.connState(ref));
    assert.equal(d.activeConns, 0);
    assert.equal(d.inactConns, 1);
  });

  it('persistence: the template travels with its conn, and a new connection of that client on the backup goes to the same real server', () => {
    const { master, backup, flush } = pair({ flags: IP_VS_SVC_F_PERSISTENT, timeout: 300, rips: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] });
    const ref = connect(master, '198.51.100.3', 40002, 2);
    const target = master.connDest(ref)!.addr.toString();
    // As ip_vs_sync_conn does: the template is weighed after every packet of its conn and, free
    // of the period test, sent each time (3 packets), the conn once (its 3rd packet).
    assert.equal(flush(0), 4);
    for (let port = 41000; port < 41006; port++) {
      const b = backup.processIn(tcp('198.51.100.3', port, TCP_SYN), 1);
      assert.equal(backup.connDest(b)!.addr.toString(), target);
    }
  });

  it('a conn to a real server the backup lacks is created unbound, and bound by a later update once the server exists', () => {
    const { master, backup, flush } = pair({ rips: ['10.0.0.1'], backupRips: ['10.0.0.9'] });
    connect(master, '198.51.100.4', 40003, 2);
    flush(0);
    assert.equal(backup.syncStats.unbound, 1);
    backup.rules.addDest(svcSpec(VIP, 80), destSpec('10.0.0.1', 8080), 0);
    for (let k = 0; k < 50; k++) master.processIn(tcp('198.51.100.4', 40003, TCP_ACK), 1);
    flush(2);
    const b = backup.processIn(tcp('198.51.100.4', 40003, TCP_ACK), 3);
    assert.equal(backup.connDest(b)?.addr.toString(), '10.0.0.1');
    assert.equal(backup.connDest(b)!.activeConns, 1);
  });

  it('DR and IPv6: the backup takes the forwarding method from its own dest', () => {
    const { master, backup, flush } = pair({ fwd: IP_VS_CONN_F_DROUTE, v6: true });
    const p6 = (flags: number) => {
      const p = new PacketInfo().setV6(IPPROTO_TCP, words(addr('2001:db8:2::1')), 40004, words(addr(VIP6)), 80);
      p.ev = flags;
      p.len = 60;
      return p;
    };
    master.processIn(p6(TCP_SYN), 0);
    for (let k = 0; k < 3; k++) master.processIn(p6(TCP_ACK), 0);
    assert.equal(flush(0), 1);
    const b = backup.processIn(p6(TCP_ACK), 1);
    assert.ok(b >= 0);
    assert.equal(backup.connFlags(b) & 7, IP_VS_CONN_F_DROUTE);
  });

  it("FULLNAT: the local address and port travel in tsvs's option, and real-server replies find the conn on the backup", () => {
    const { master, backup, flush } = pair({ fwd: IP_VS_CONN_F_FULLNAT, laddrs: ['10.0.2.100'] });
    const ref = connect(master, '198.51.100.5', 40005, 2);
    flush(0);
    const reply = packet4(IPPROTO_TCP, master.connDest(ref)!.addr.toString(), 8080, '10.0.2.100', 0, TCP_ACK);
    reply.dport = master.connLport(ref);
    const b = backup.processOut(reply, 1);
    assert.ok(b >= 0, 'the reply to the local address and port is ours on the backup');
    assert.equal(backup.connLport(b), master.connLport(ref));
    // A new conn on the backup does not get the same local port toward that real server.
    const fresh = backup.processIn(tcp('198.51.100.6', 40006, TCP_SYN), 2);
    assert.notEqual(backup.connLport(fresh), master.connLport(ref));
  });

  it('a client moved to another real server on the master replaces the backup conn; a late INACTIVE notice of the old one is ignored', () => {
    const { master, backup, flush } = pair();
    const e = new SyncEntry();
    const r1 = connect(master, '198.51.100.7', 40007, 2);
    flush(0);
    master.fillSync(r1, e);
    const old = { daddr: e.daddr[0]! };
    // The master's conn now points elsewhere (as after rescheduling): an active entry with
    // another daddr replaces the backup's conn.
    e.daddr[0] = old.daddr === 0x0a000001 ? 0x0a000002 : 0x0a000001;
    e.flags &= ~0x100;
    backup.applySync(e, 1);
    assert.equal(backup.syncStats.replaced, 1);
    // The old conn's expiry notice (INACTIVE, old daddr) arrives late: ignored.
    e.daddr[0] = old.daddr;
    e.flags |= 0x100;
    backup.applySync(e, 2);
    assert.equal(backup.syncStats.staleIgnored, 1);
    const b = backup.processIn(tcp('198.51.100.7', 40007, TCP_ACK), 3);
    assert.notEqual(backup.connDest(b)!.addr.w0, old.daddr);
  });

  it('packets credited in batches (the XDP fast path) send the conn whenever one of them would have', () => {
    const { master, flush, sent } = pair();
    const ref = connect(master, '198.51.100.9', 40009, 1);
    assert.equal(sent.length, 0);
    // Counted one by one, packets 3, 53 and 103 send the conn. A batch of 40 crosses the 3rd.
    master.credit(ref, 40, 40 * 60, 0, 0, 1);
    assert.deepEqual(sent, [ref]);
    // 42 → 50 crosses nothing; 50 → 60 crosses the 53rd; 60 → 160 crosses the 103rd and 153rd: one send.
    master.credit(ref, 8, 8 * 60, 0, 0, 2);
    assert.equal(sent.length, 1);
    master.credit(ref, 10, 10 * 60, 0, 0, 3);
    assert.equal(sent.length, 2);
    master.credit(ref, 100, 100 * 60, 0, 0, 4);
    assert.equal(sent.length, 3);
    assert.equal(flush(5), 3);
  });

  it('a batch credit counts for the template as many packets as it carries', () => {
    const { master, sent } = pair({ flags: IP_VS_SVC_F_PERSISTENT, timeout: 300 });
    const ref = connect(master, '198.51.100.10', 40010, 2);
    sent.length = 0;
    master.credit(ref, 100, 100 * 60, 0, 0, 1);
    // The conn (3 → 103 crosses the 53rd and the 103rd) and its template, free of the period test.
    assert.equal(sent.length, 2);
    assert.equal(sent[0], ref);
  });

  it('a synced conn without further updates expires on the backup after its timeout', () => {
    const { master, backup, flush } = pair();
    connect(master, '198.51.100.8', 40008, 2);
    flush(0);
    assert.equal(backup.connCount(), 1);
    backup.tick(899_000);
    assert.equal(backup.connCount(), 1);
    backup.tick(901_000);
    assert.equal(backup.connCount(), 0);
  });
});
