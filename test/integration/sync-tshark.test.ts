// What tsvs's sync master writes is what another decoder reads: messages from SyncPacker are
// written into a pcap as UDP datagrams to port 8848 and decoded by tshark's IPVS dissector
// (Debian's tshark, installed by .ci/run). Entries with options are left out: the dissector
// does not decode options (docs/sync.md).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SyncEntry, SyncPacker } from '../../src/sync/codec.js';

function tsharkMissing(): string | false {
  const r = spawnSync('tshark', ['--version'], { stdio: 'ignore' });
  if (r.status === 0) return false;
  const why = 'tshark is not installed (apt-get install tshark)';
  if (process.env.CI === 'true') throw new Error(`CI must run the tshark test: ${why}`);
  return why;
}

/** A classic pcap of Ethernet/IPv4/UDP frames, one per message, to 224.0.0.81:8848. */
function pcap(msgs: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  const g = Buffer.alloc(24);
  g.writeUInt32LE(0xa1b2c3d4, 0);
  g.writeUInt16LE(2, 4);
  g.writeUInt16LE(4, 6);
  g.writeUInt32LE(65535, 16);
  g.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  parts.push(g);
  msgs.forEach((m, i) => {
    const f = Buffer.alloc(14 + 20 + 8 + m.length);
    Buffer.from('01005e000051020000000001', 'hex').copy(f, 0);
    f.writeUInt16BE(0x0800, 12);
    f.writeUInt8(0x45, 14);
    f.writeUInt16BE(20 + 8 + m.length, 16);
    f.writeUInt8(1, 22); // ttl
    f.writeUInt8(17, 23);
    Buffer.from([10, 0, 0, 1, 224, 0, 0, 81]).copy(f, 26);
    let sum = 0;
    for (let k = 14; k < 34; k += 2) sum += f.readUInt16BE(k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    f.writeUInt16BE(~sum & 0xffff, 24);
    f.writeUInt16BE(40000, 34);
    f.writeUInt16BE(8848, 36);
    f.writeUInt16BE(8 + m.length, 38);
    Buffer.from(m).copy(f, 42);
    const h = Buffer.alloc(16);
    h.writeUInt32LE(1_700_000_000 + i, 0);
    h.writeUInt32LE(f.length, 8);
    h.writeUInt32LE(f.length, 12);
    parts.push(h, f);
  });
  return Buffer.concat(parts);
}

describe('sync messages decoded by tshark', () => {
  it('syncid, count, addresses, ports, state and timeout of v1 IPv4 and IPv6 entries', (t) => {
    const skip = tsharkMissing();
    if (skip) return t.skip(skip);
    const msgs: Uint8Array[] = [];
    const pk = new SyncPacker(42, 1472, 1, (m) => msgs.push(m));
    const e = new SyncEntry();
    for (let i = 0; i < 45; i++) {
      e.reset();
      e.proto = 6;
      e.flags = 3;
      e.state = 1;
      e.cport = 30000 + i;
      e.vport = 80;
      e.dport = 8080;
      e.timeout = 900;
      e.caddr[0] = 0x0a000001 + i;
      e.vaddr[0] = 0xc000020a;
      e.daddr[0] = 0xc6336405;
      pk.add(e, 0);
    }
    e.reset();
    e.v6 = true;
    e.proto = 17;
    e.cport = 5353;
    e.vport = 53;
    e.dport = 53;
    e.timeout = 300;
    e.caddr.set([0x20010db8, 0, 0, 1]);
    e.vaddr.set([0x20010db8, 0, 0, 0x10]);
    e.daddr.set([0x20010db8, 0, 0, 5]);
    pk.add(e, 0);
    pk.flush();
    assert.equal(msgs.length, 2);

    const dir = mkdtempSync(join(tmpdir(), 'tsvs-sync-pcap-'));
    try {
      const file = join(dir, 'sync.pcap');
      writeFileSync(file, pcap(msgs));
      const fields = [
        'ipvs.syncid',
        'ipvs.conncount',
        'ipvs.caddr',
        'ipvs.caddr6',
        'ipvs.cport',
        'ipvs.dport',
        'ipvs.state',
        'ipvs.timeout',
        '_ws.expert',
      ];
      const out = execFileSync(
        'tshark',
        ['-r', file, '-Y', 'ipvs', '-T', 'fields', '-E', 'separator=|', '-E', 'aggregator=,', ...fields.flatMap((f) => ['-e', f])],
        { encoding: 'utf8' },
      );
      const rows = out
        .trim()
        .split('\n')
        .map((l) => l.split('|'));
      assert.equal(rows.length, 2);
      const [a, b] = rows as [string[], string[]];
      assert.equal(a[0], '42');
      assert.equal(a[1], '40');
      const caddrs = a[2]!.split(',');
      assert.equal(caddrs.length, 40);
      assert.equal(caddrs[0], '10.0.0.1');
      assert.equal(caddrs[39], '10.0.0.40');
      assert.equal(a[4]!.split(',')[39], '30039');
      assert.ok(a[5]!.split(',').every((p) => p === '8080'));
      assert.ok(a[6]!.split(',').every((s) => Number(s) === 1));
      assert.ok(a[7]!.split(',').every((s) => s === '900'));
      assert.equal(a[8], '', 'no expert info (malformed) on the first message');
      assert.equal(b[1], '6');
      assert.equal(b[2]!.split(',').length, 5);
      assert.equal(b[3], '2001:db8::1');
      assert.equal(b[7]!.split(',').at(-1), '300');
      assert.equal(b[8], '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
