// The kernel's defences (ipvs-kernel.md §2.7) through the calls the daemon and engines make:
// the mode switching of update_defense_level, drop_packet's 1-in-rate, drop_entry's choice
// among half-open and idle conns, secure_tcp's state table, and the conn-table memory bound.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TCP_ACK, TCP_SYN } from '../../src/core/conn/tcp.js';
import { CONN_BYTES, Defence, PAGE_SIZE } from '../../src/core/defence.js';
import { IP_VS_CONN_F_MASQ, IPPROTO_TCP } from '../../src/core/constants.js';
import { Ipvs, packet4, VERDICT_DROP } from '../../src/core/ipvs.js';
import { SysctlTable } from '../../src/core/sysctl.js';
import { bindSysctls } from '../../src/core/sysctl-bind.js';
import { destSpec, makeEnv, svcSpec } from '../helpers/rules.js';

const VIP = '192.0.2.10';
const PLENTY = 2 ** 40;

function director(memMax = 1 << 30) {
  const ipvs = new Ipvs({ env: makeEnv() });
  const sysctls = new SysctlTable();
  bindSysctls(ipvs, sysctls);
  const defence = new Defence(sysctls, memMax);
  ipvs.defence = defence;
  const key = svcSpec(VIP, 80, { schedName: 'rr', protocol: IPPROTO_TCP });
  ipvs.rules.addService(key, 0);
  ipvs.rules.addDest(key, destSpec('10.0.0.1', 8080, 1, IP_VS_CONN_F_MASQ as 0), 0);
  return { ipvs, sysctls, defence };
}

const syn = (n: number) => packet4(IPPROTO_TCP, `198.51.${(n >> 8) & 255}.${n & 255}`, 1024 + (n >> 16), VIP, 80, TCP_SYN);
const ack = (n: number) => packet4(IPPROTO_TCP, `198.51.${(n >> 8) & 255}.${n & 255}`, 1024 + (n >> 16), VIP, 80, TCP_ACK);

describe('defence modes (update_defense_level)', () => {
  it('mode 1 turns into 2 while memory is short and back to 1 after; 0 and 3 never move', () => {
    const { sysctls, defence } = director();
    for (const k of ['drop_entry', 'drop_packet', 'secure_tcp']) assert.equal(sysctls.write(k, '1'), null);
    defence.update(0, 100 * PAGE_SIZE); // 100 pages < amemthresh 1024
    assert.deepEqual(
      ['drop_entry', 'drop_packet', 'secure_tcp'].map((k) => sysctls.int(k)),
      [2, 2, 2],
    );
    assert.ok(defence.nomem && defence.dropEntryActive && defence.secureTcpActive);
    defence.update(0, PLENTY);
    assert.deepEqual(
      ['drop_entry', 'drop_packet', 'secure_tcp'].map((k) => sysctls.int(k)),
      [1, 1, 1],
    );
    assert.ok(!defence.nomem && !defence.dropEntryActive && !defence.secureTcpActive);
    sysctls.write('secure_tcp', '3');
    defence.update(0, PLENTY);
    assert.equal(sysctls.int('secure_tcp'), 3);
    assert.ok(defence.secureTcpActive, 'mode 3 is always on');
  });

  it('the conn table bound counts as memory: a full table is short of memory', () => {
    const { defence } = director(2048 * PAGE_SIZE);
    defence.update(0, PLENTY);
    assert.equal(defence.availPages, 2048);
    assert.ok(!defence.nomem);
    defence.update((1500 * PAGE_SIZE) / CONN_BYTES, PLENTY);
    assert.equal(defence.availPages, 548);
    assert.ok(defence.nomem, 'below amemthresh (1024 pages) of the bound');
  });
});

describe('drop_packet', () => {
  it('mode 3 drops 1 of every am_droprate new conns, counted', () => {
    const { ipvs, sysctls, defence } = director();
    sysctls.write('drop_packet', '3');
    sysctls.write('am_droprate', '4');
    defence.update(0, PLENTY);
    const v = Array.from({ length: 12 }, (_, n) => ipvs.processIn(syn(n), 1000));
    assert.deepEqual(
      v.map((r) => r === VERDICT_DROP),
      [false, false, false, true, false, false, false, true, false, false, false, true],
    );
    assert.equal(defence.counters.drop_packet, 3);
    assert.equal(ipvs.connCount(), 9);
  });

  it('mode 1 under shortage: rate = amemthresh / (amemthresh - available)', () => {
    const { ipvs, sysctls, defence } = director();
    sysctls.write('drop_packet', '1');
    defence.update(0, 512 * PAGE_SIZE); // 1024 / (1024 - 512) = 2: every second new conn
    const v = Array.from({ length: 6 }, (_, n) => ipvs.processIn(syn(n), 1000) === VERDICT_DROP);
    assert.deepEqual(v, [false, true, false, true, false, true]);
  });

  it('packets of existing conns are never dropped by it', () => {
    const { ipvs, sysctls, defence } = director();
    const ref = ipvs.processIn(syn(1), 1000);
    sysctls.write('drop_packet', '3');
    sysctls.write('am_droprate', '1');
    defence.update(1, PLENTY);
    assert.equal(ipvs.processIn(ack(1), 1100), ref);
  });
});

describe('conn table memory bound', () => {
  it('new conns are refused at the bound and counted; existing ones go on', () => {
    const { ipvs, defence } = director(10 * CONN_BYTES);
    const refs = Array.from({ length: 12 }, (_, n) => ipvs.processIn(syn(n), 1000));
    assert.equal(refs.filter((r) => r >= 0).length, 10);
    assert.deepEqual(refs.slice(10), [VERDICT_DROP, VERDICT_DROP]);
    assert.equal(defence.counters.conn_mem_full, 2);
    assert.equal(ipvs.processIn(ack(3), 1100), refs[3]);
  });
});

describe('drop_entry', () => {
  it('removes half-open conns of a SYN flood within seconds and spares established recent ones', () => {
    const { ipvs, sysctls, defence } = director();
    sysctls.write('drop_entry', '3');
    const est = ipvs.processIn(syn(60000), 0);
    ipvs.processIn(ack(60000), 10);
    for (let n = 0; n < 2000; n++) ipvs.processIn(syn(n), 100);
    assert.equal(ipvs.connCount(), 2001);
    let seq = 0x9e3779b9;
    const rnd = () => (seq = (seq * 1103515245 + 12345) >>> 0) / 4294967296;
    for (let s = 1; s <= 40; s++) ipvs.defenceTick(PLENTY, rnd);
    assert.ok(ipvs.connCount() < 1000, `half-open conns dropped: ${ipvs.connCount()} left`);
    assert.ok(defence.counters.drop_entry > 1000);
    assert.equal(ipvs.processIn(ack(60000), 200), est, 'the established conn is still there');
  });

  it('is idle in mode 0 and in mode 1 with memory to spare', () => {
    const { ipvs, sysctls } = director();
    for (let n = 0; n < 100; n++) ipvs.processIn(syn(n), 100);
    sysctls.write('drop_entry', '1');
    for (let s = 0; s < 10; s++) ipvs.defenceTick(PLENTY, Math.random);
    assert.equal(ipvs.connCount(), 100);
  });
});

describe('secure_tcp', () => {
  it('switches the core to the secure state table while active', () => {
    const { ipvs, sysctls } = director();
    sysctls.write('secure_tcp', '3');
    ipvs.defenceTick(PLENTY, Math.random);
    assert.equal(ipvs.sysctls.secureTcp, true);
    sysctls.write('secure_tcp', '0');
    ipvs.defenceTick(PLENTY, Math.random);
    assert.equal(ipvs.sysctls.secureTcp, false);
  });
});
