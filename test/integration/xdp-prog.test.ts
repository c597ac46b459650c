// The XDP program through the real verifier and BPF_PROG_TEST_RUN: every frame kind it must take
// or pass, run by the kernel. Needs root (bpf(2)); skips without it, except under CI=true.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Addr } from '../../src/core/inet.js';
import {
  attachXdp,
  BPF_F_NO_PREALLOC,
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_XSKMAP,
  BpfMap,
  loadXdpProgram,
  testRunXdp,
  XDP_FLAGS_SKB_MODE,
  XDP_PASS,
} from '../../src/engine/packet/xdp/bpf.js';
import { KEY_SIZE, xdpKeys } from '../../src/engine/packet/xdp/keys.js';
import { xdpProgram } from '../../src/engine/packet/xdp/prog.js';
import { libc } from '../../src/sys/libc.js';
import { frame4, frame6, ip } from '../unit/wire/build.js';

const TAKEN = 3;
const notRoot = process.getuid?.() !== 0 ? 'loading an XDP program needs root (bpf(2) with CAP_BPF)' : false;
if (notRoot && process.env.CI === 'true') throw new Error(`CI must run the XDP verifier test: ${notRoot}`);

const w6 = (s: string): Uint32Array => {
  const a = Addr.parse(s)!;
  return Uint32Array.of(a.w0, a.w1, a.w2, a.w3);
};

describe('XDP program (kernel verifier, BPF_PROG_TEST_RUN)', { skip: notRoot }, () => {
  let keys: BpfMap;
  let xsk: BpfMap;
  let prog = -1;

  before(() => {
    keys = BpfMap.create(BPF_MAP_TYPE_HASH, 'tsvs_test_keys', KEY_SIZE, 4, 1024, BPF_F_NO_PREALLOC);
    xsk = BpfMap.create(BPF_MAP_TYPE_XSKMAP, 'tsvs_test_xsk', 4, 4, 4);
    const want = xdpKeys(
      [
        { family: 'ip', proto: 'tcp', daddr: '10.0.0.100', dport: 80 },
        { family: 'ip', proto: 'udp', daddr: '10.0.0.101', dport: 0 },
        { family: 'ip', proto: 'tcp', saddr: '10.1.0.11', sport: 8080, notDaddr: ['10.1.0.1'] },
        { family: 'ip6', proto: 'tcp', daddr: 'fd00::100', dport: 443 },
        { family: 'ip6', proto: 'udp', saddr: 'fd01::11', sport: 53 },
      ],
      [ip('10.1.0.1')],
      [Addr.parse('fd01::1')!],
    );
    const one = Uint8Array.of(1, 0, 0, 0);
    for (const k of want.values()) keys.update(k, one);
    prog = loadXdpProgram(xdpProgram({ keysFd: keys.fd, xskFd: xsk.fd, maxLen: 3000, takenVerdict: TAKEN }), 'tsvs_test');
  });

  after(() => {
    if (prog >= 0) libc().close(prog);
    keys?.close();
    xsk?.close();
  });

  const v4 = (o: Partial<Parameters<typeof frame4>[0]>) =>
    frame4({ saddr: ip('10.9.0.9'), daddr: ip('10.0.0.100'), sport: 40000, dport: 80, ...o });
  const v6 = (o: Partial<Parameters<typeof frame6>[0]>) =>
    frame6({ saddr: w6('fd09::9'), daddr: w6('fd00::100'), sport: 40000, dport: 443, ...o });
  const cases: { what: string; frame: () => Uint8Array; verdict: number }[] = [
    { what: 'TCP to a service VIP:port', frame: () => v4({}), verdict: TAKEN },
    { what: 'TCP to the VIP on another port', frame: () => v4({ dport: 81 }), verdict: XDP_PASS },
    { what: 'UDP to the VIP:80 of a TCP service', frame: () => v4({ proto: 17 }), verdict: XDP_PASS },
    { what: 'UDP to a port-less service (VIP:0)', frame: () => v4({ proto: 17, daddr: ip('10.0.0.101'), dport: 5353 }), verdict: TAKEN },
    { what: 'a fragment to a service', frame: () => v4({ mf: true }), verdict: XDP_PASS },
    {
      what: 'a NAT reply from RS:port',
      frame: () => v4({ saddr: ip('10.1.0.11'), sport: 8080, daddr: ip('10.9.0.9'), dport: 40000 }),
      verdict: TAKEN,
    },
    {
      what: "the RS's reply to the director's own address (a health check)",
      frame: () => v4({ saddr: ip('10.1.0.11'), sport: 8080, daddr: ip('10.1.0.1'), dport: 40000 }),
      verdict: XDP_PASS,
    },
    {
      what: 'from the RS on another port',
      frame: () => v4({ saddr: ip('10.1.0.11'), sport: 22, daddr: ip('10.9.0.9') }),
      verdict: XDP_PASS,
    },
    { what: 'host traffic', frame: () => v4({ daddr: ip('10.1.0.1'), dport: 22 }), verdict: XDP_PASS },
    { what: 'IPv6 TCP to a service', frame: () => v6({}), verdict: TAKEN },
    { what: 'IPv6 TCP to another port', frame: () => v6({ dport: 80 }), verdict: XDP_PASS },
    { what: 'IPv6 with a hop-by-hop header', frame: () => v6({ ext: ['hbh'] }), verdict: XDP_PASS },
    {
      what: 'an IPv6 UDP reply from RS:53',
      frame: () => v6({ proto: 17, saddr: w6('fd01::11'), sport: 53, daddr: w6('fd09::9') }),
      verdict: TAKEN,
    },
    {
      what: 'an IPv6 reply to the director itself',
      frame: () => v6({ proto: 17, saddr: w6('fd01::11'), sport: 53, daddr: w6('fd01::1') }),
      verdict: XDP_PASS,
    },
    { what: 'a frame longer than an AF_XDP frame', frame: () => v4({ payload: new Uint8Array(3100) }), verdict: XDP_PASS },
    { what: 'ARP', frame: () => Uint8Array.from([...new Uint8Array(12).fill(0xff), 0x08, 0x06, ...new Uint8Array(28)]), verdict: XDP_PASS },
    { what: 'a runt frame', frame: () => new Uint8Array(20), verdict: XDP_PASS },
  ];
  for (const c of cases) {
    it(c.what, () => assert.equal(testRunXdp(prog, c.frame()), c.verdict));
  }

  it('the real program (redirect into the XSKMAP) passes the verifier too', () => {
    const fd = loadXdpProgram(xdpProgram({ keysFd: keys.fd, xskFd: xsk.fd, maxLen: 3000 }), 'tsvs_test');
    // No socket in the XSKMAP: bpf_redirect_map falls back to its flags, XDP_PASS.
    assert.equal(testRunXdp(fd, v4({})), XDP_PASS);
    libc().close(fd);
  });

  it('an attach that fails names the call, the errno and what to do', () => {
    const fd = loadXdpProgram(xdpProgram({ keysFd: keys.fd, xskFd: xsk.fd, maxLen: 3000 }), 'tsvs_test');
    try {
      assert.throws(
        () => attachXdp(fd, 0x7ffffff0, 'nosuchif', XDP_FLAGS_SKB_MODE),
        // The kernel's EINVAL for an ifindex no device has: the hint must not blame generic XDP.
        /BPF_LINK_CREATE generic XDP on nosuchif\): EINVAL \(.*\): nosuchif \(ifindex 2147483632\) no longer exists/,
      );
    } finally {
      libc().close(fd);
    }
  });

  it('a refused program reports the verifier log', () => {
    // r0 is read before it is written: the verifier says so.
    const bad = Uint8Array.of(0x95, 0, 0, 0, 0, 0, 0, 0);
    assert.throws(() => loadXdpProgram(bad, 'tsvs_bad'), /BPF_PROG_LOAD.*EACCES[\s\S]*R0 !read_ok/);
  });
});
