// The seeds' labs built by `tsvs lab`, with tsvs as the director on the packet engine (raw
// frames, NAT and DR) and the seeds' own addresses and ipvsadm commands: every request
// succeeds, the distribution follows the scheduler, the counters match; 10 MB both ways
// arrives intact through NAT and through DR; malformed frames are dropped and counted while
// the director keeps forwarding; and the ARP problem of seeds 000/001/004, shown and then
// solved by the real-server agent. Labs always clean up, even when a test fails.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { blob, sha256 } from '../../src/lab/blob.js';
import { agentRunDir, labDown, labRun, labUp, nsName } from '../../src/lab/lab.js';
import { findLab, LABS, type LabDef } from '../../src/lab/labs.js';
import { ensureBuilt, ifaceAddr, inNs, requireNetns, ROOT, TSVS, TSVSADM } from './harness.js';

const skip = requireNetns();
const env = { TSVS_ENGINE: 'packet' };
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const MB10 = 10 * 1024 * 1024;

function vipOf(lab: LabDef): string {
  return lab.client.url.replace(/^http:\/\/|\/$/g, '');
}

async function status(lab: LabDef): Promise<{ pid: number; engine: string; drops: Record<string, number>; unserved: unknown[] }> {
  const r = await inNs(nsName(lab, lab.director.host), [process.execPath, TSVS, 'status', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function client(lab: LabDef, script: string): Promise<string> {
  const r = await inNs(nsName(lab, lab.client.host), ['sh', '-c', script], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `${script}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Per real server "RIP:port" → Conns, from `tsvsadm -L -n --stats`. */
function destConns(stats: string): number[] {
  return stats
    .split('\n')
    .filter((l) => l.startsWith('  -> ') && !l.includes('RemoteAddress'))
    .map((l) => Number(l.trim().split(/\s+/)[2]));
}

async function transfers(lab: LabDef): Promise<void> {
  const url = lab.client.url;
  const down = await client(lab, `curl -sf --max-time 60 '${url}blob/${MB10}' | sha256sum`);
  assert.equal(down.split(' ')[0], sha256(blob(MB10)), 'download digest');
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-blob-'));
  try {
    const file = join(dir, 'up.bin');
    const data = blob(MB10 + 12345);
    writeFileSync(file, data);
    const up = await client(lab, `curl -sf --max-time 60 --data-binary @${file} '${url}'`);
    assert.equal(up.split(' ')[1], sha256(data), `upload digest (answered by ${up.split(' ')[0]})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('seed labs on the packet engine', { skip }, () => {
  const used = new Set<LabDef>();
  after(async () => {
    for (const lab of used) await labDown(lab);
  });

  for (const lab of LABS) {
    it(`${lab.name}: 30 requests all succeed, ${lab.expect.sched} distribution, counters`, async () => {
      ensureBuilt();
      used.add(lab);
      await labUp(lab, () => {}, env);
      const r = await labRun(lab, 30, env);
      assert.equal(r.failures, 0, r.stats);
      const names = lab.realServers.map((s) => s.host);
      const w = names.map((n) => lab.expect.weights[n]!);
      const total = w.reduce((a, b) => a + b, 0);
      names.forEach((n, i) => {
        const want = (30 * w[i]!) / total;
        const got = r.counts[n] ?? 0;
        if (lab.expect.sched === 'rr') assert.equal(got, want, `${n}: ${JSON.stringify(r.counts)}`);
        else assert.ok(Math.abs(got - want) <= 1, `${n}: ${got} vs ${want}: ${JSON.stringify(r.counts)}`);
      });
      const svcLine = r.stats.split('\n').find((l) => l.startsWith('TCP'))!;
      assert.equal(svcLine.split(/\s+/)[2], '30', `Conns: ${r.stats}`);
      assert.deepEqual(
        destConns(r.stats),
        names.map((n) => r.counts[n]),
        r.stats,
      );
      const st = await status(lab);
      assert.equal(st.engine, 'packet');
      assert.deepEqual(st.unserved, []);
      if (['seed002-nat', 'seed001-dr', 'nat6', 'dr6'].includes(lab.name)) await transfers(lab);
      await labDown(lab);
    });
  }

  for (const [name, family, frames, reasons] of [
    ['seed002-nat', 'inet', 'bad-frames.ts', ['truncated', 'bad_ip_header', 'bad_length', 'bad_ip_checksum', 'bad_l4_checksum', 'bad_arp']],
    ['nat6', 'inet6', 'bad-frames6.ts', ['truncated', 'bad_ip_header', 'bad_length', 'bad_l4_checksum']],
  ] as const) {
    it(`${name}: malformed ${family === 'inet' ? 'IPv4' : 'IPv6'} frames are dropped and counted; forwarding goes on`, async () => {
      ensureBuilt();
      const lab = findLab(name)!;
      used.add(lab);
      await labUp(lab, () => {}, env);
      const dir = ifaceAddr(nsName(lab, 'director'), 'eth0', family);
      const cl = ifaceAddr(nsName(lab, 'client'), 'eth0', family);
      const before = await status(lab);
      const count = 20;
      const sent = await client(
        lab,
        [process.execPath, '--import', 'tsx', fixture(frames), 'eth0', dir.mac, cl.mac, cl.ip, lab.director.vip, '80', String(count)].join(
          ' ',
        ),
      );
      assert.equal(JSON.parse(sent).txDropped, 0, sent);
      await new Promise((r) => setTimeout(r, 300));
      const afterSt = await status(lab);
      assert.equal(afterSt.pid, before.pid, 'the director did not restart');
      for (const reason of reasons) {
        const d = (afterSt.drops[reason] ?? 0) - (before.drops[reason] ?? 0);
        assert.ok(d >= count, `${reason}: ${d} counted of ${count} sent; drops ${JSON.stringify(afterSt.drops)}`);
      }
      const r = await labRun(lab, 10, env);
      assert.equal(r.failures, 0);
      assert.deepEqual(Object.values(r.counts), [5, 5]);
      await labDown(lab);
    });
  }

  for (const [name, icmp] of [
    ['seed002-nat', 'ICMP fragmentation needed'],
    ['nat6', 'ICMPv6 packet too big'],
  ] as const) {
    it(`${name}: a segment too big for the inside link gets the client ${icmp}`, async () => {
      ensureBuilt();
      const lab = findLab(name)!;
      used.add(lab);
      await labUp(lab, () => {}, env);
      await inNs(nsName(lab, 'director'), ['ip', 'link', 'set', 'eth1', 'mtu', '1400']);
      // The real servers keep MTU 1500 and advertise MSS 1460: only PMTU discovery can shrink
      // the client's 1500-byte segments to what the director's inside link carries.
      // The client's kernel counts the ICMP errors it receives. (Its route cache's "mtu 1400"
      // is no witness: the kernel may drop a PMTU exception early when its cache is under
      // pressure, as it did once under the full suite.)
      const received =
        name === 'nat6'
          ? `awk '$1 == "Icmp6InPktTooBigs" { print $2 }' /proc/net/snmp6`
          : `awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "InDestUnreachs") c = i; h = 1 } else print $c }' /proc/net/snmp`;
      const before = Number(await client(lab, received));
      const dir = mkdtempSync(join(tmpdir(), 'tsvs-blob-'));
      try {
        const file = join(dir, 'up.bin');
        const data = blob((1 << 20) + 999);
        writeFileSync(file, data);
        const up = await client(lab, `curl -sf --max-time 60 --data-binary @${file} '${lab.client.url}'`);
        // Every frame over 1400 bytes was dropped at the director: the 1 MB arrived only because
        // the client's TCP shrank its segments to the size the ICMP error gave.
        assert.equal(up.split(' ')[1], sha256(data));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const now = Number(await client(lab, received));
      assert.ok(now > before, `the client received ${icmp} (${before} -> ${now})`);
      const st = await status(lab);
      assert.ok((st.drops.mtu_exceeded ?? 0) > 0, JSON.stringify(st.drops));
      await labDown(lab);
    });
  }

  for (const [name, vip, rip] of [
    ['seed002-nat', '172.25.254.100', '192.168.0.10:5353'],
    ['nat6', '2001:db8:1::1', '[2001:db8:2::10]:5353'],
  ] as const) {
    it(`${name}: a real server's port unreachable reaches the client translated (${vip.includes(':') ? 'ICMPv6' : 'ICMP'})`, async () => {
      ensureBuilt();
      const lab = findLab(name)!;
      used.add(lab);
      await labUp(lab, () => {}, env);
      const svc = vip.includes(':') ? `[${vip}]:5353` : `${vip}:5353`;
      for (const args of [
        ['-A', '-u', svc, '-s', 'rr'],
        ['-a', '-u', svc, '-r', rip, '-m'],
      ]) {
        const r = await inNs(nsName(lab, 'director'), [process.execPath, TSVSADM, ...args], { env });
        assert.equal(r.code, 0, r.stderr);
      }
      // Nothing listens on the real server's :5353: its error must come back about VIP:5353.
      const out = await client(lab, [process.execPath, '--import', 'tsx', fixture('udp-refused.ts'), vip, '5353', '3000'].join(' '));
      assert.equal(out, 'refused');
      await labDown(lab);
    });
  }

  it('dr6: only the director advertises the VIP; real servers hold it on lo without answering NDP', async () => {
    ensureBuilt();
    const lab = findLab('dr6')!;
    used.add(lab);
    await labUp(lab, () => {}, env);
    const cl = ifaceAddr(nsName(lab, 'client'), 'eth0', 'inet6');
    const dmac = ifaceAddr(nsName(lab, 'director'), 'eth0', 'inet6').mac;
    const out = await client(
      lab,
      [process.execPath, '--import', 'tsx', fixture('ndp-probe.ts'), 'eth0', cl.mac, cl.ip, lab.director.vip, '500'].join(' '),
    );
    assert.deepEqual(JSON.parse(out), [dmac]);
    for (const s of lab.realServers) {
      const lo = await inNs(nsName(lab, s.host), ['ip', '-6', 'addr', 'show', 'dev', 'lo']);
      assert.match(lo.stdout, /2001:db8:9::100\/128/);
    }
    await labDown(lab);
  });

  it('seed002-nat: -D and -C give the VIP back to the kernel (the filter follows deletions)', async () => {
    ensureBuilt();
    const lab = findLab('seed002-nat')!;
    used.add(lab);
    await labUp(lab, () => {}, env);
    const dns = nsName(lab, 'director');
    const nft = async () => (await inNs(dns, ['nft', 'list', 'ruleset'])).stdout;
    const adm = async (args: string[]) => {
      const r = await inNs(dns, [process.execPath, TSVSADM, ...args], { env });
      assert.equal(r.code, 0, r.stderr);
    };
    await adm(['-A', '-t', '172.25.254.100:8080', '-s', 'rr']);
    assert.match(await nft(), /172\.25\.254\.100 tcp dport 8080/);
    await adm(['-D', '-t', '172.25.254.100:8080']);
    const left = await nft();
    assert.doesNotMatch(left, /dport 8080/, left);
    assert.match(left, /172\.25\.254\.100 tcp dport 80 /, 'the other service stays');
    await adm(['-C']);
    // Reply takes for dests still in the trash may stay until their conns expire, as the
    // kernel's out-hook keeps NATing their replies; no rule may claim the VIP any more.
    const cleared = await nft();
    assert.doesNotMatch(cleared, /daddr 172\.25\.254\.100\b/, cleared);
    // Nothing listens on the director's :80: its kernel refuses at once instead of silence.
    const r = await inNs(nsName(lab, 'client'), ['curl', '-s', '--max-time', '3', lab.client.url]);
    assert.equal(r.code, 7, `curl exit ${r.code}: the kernel should refuse, not drop`);
    await labDown(lab);
  });

  it('seed001-dr: without the agent a real server answers ARP for the VIP; with it only the director does', async () => {
    ensureBuilt();
    const lab = findLab('seed001-dr')!;
    used.add(lab);
    await labUp(lab, () => {}, env, { agent: false });
    const vip = vipOf(lab);
    const cns = nsName(lab, 'client');
    const cl = ifaceAddr(cns, 'eth0');
    const dmac = ifaceAddr(nsName(lab, 'director'), 'eth0').mac;
    const rsMacs = lab.realServers.map((s) => ifaceAddr(nsName(lab, s.host), 'eth0').mac);
    const probe = async () =>
      JSON.parse(
        await client(lab, [process.execPath, '--import', 'tsx', fixture('arp-probe.ts'), 'eth0', cl.mac, cl.ip, vip, '500'].join(' ')),
      ) as string[];

    // The problem: every host with the VIP answers, and a client that believes rs1 bypasses
    // the director entirely.
    assert.deepEqual(await probe(), [dmac, ...rsMacs].sort());
    await client(lab, `ip neigh replace ${vip} lladdr ${rsMacs[0]} dev eth0 nud permanent`);
    const bypass = await client(lab, `curl -sf --max-time 3 ${lab.client.url}`);
    assert.equal(bypass, lab.realServers[0]!.host);
    const st0 = await inNs(nsName(lab, 'director'), [process.execPath, TSVSADM, '-L', '-n', '--stats']);
    assert.match(st0.stdout, /^TCP +\S+ +0 +0 +0 /m, 'the director saw nothing');
    await client(lab, `ip neigh del ${vip} dev eth0`);

    // The agent's arp_ignore/arp_announce silence the real servers.
    for (const s of lab.realServers) {
      const r = await inNs(nsName(lab, s.host), [process.execPath, TSVS, 'realserver', 'start', '--vip', vip], {
        env: { TSVS_RUN_DIR: agentRunDir(lab, s.host) },
      });
      assert.equal(r.code, 0, r.stderr);
    }
    assert.deepEqual(await probe(), [dmac]);
    const r = await labRun(lab, 30, env);
    assert.equal(r.failures, 0);
    assert.deepEqual(Object.values(r.counts), [15, 15]);
    assert.match(r.stats, /^TCP +\S+ +30 /m);
    await labDown(lab);
  });

  it("tun: lab status and run say when it is down; up, it is healthy and realserver in a real server sees the lab's agent", async () => {
    ensureBuilt();
    const lab = findLab('tun')!;
    used.add(lab);
    await labDown(lab);
    const tsvs = (args: string[], ns: string | null = null) => inNs(ns, [process.execPath, TSVS, ...args], { env: { TSVS_RUN_DIR: '' } });
    const down = await tsvs(['lab', 'status', 'tun']);
    assert.deepEqual([down.stdout, down.code], ['tun is down (tsvs lab up tun builds it)\n', 1]);
    const run = await tsvs(['lab', 'run', 'tun']);
    assert.deepEqual([run.stderr, run.stdout, run.code], ['tsvs lab run: tun is down: tsvs lab up tun builds it\n', '', 1]);

    await labUp(lab, () => {}, env);
    const up = await tsvs(['lab', 'status', 'tun']);
    assert.equal(up.code, 0, up.stdout);
    assert.match(
      up.stdout,
      /^tun is up and healthy:\n {2}\d+ namespaces\n {2}director director: engine packet, 1 service\(s\), all served\n/,
    );
    assert.match(up.stdout, /\n {2}rs1: real-server agent ready \(VIP 192\.168\.10\.100\)\n/);

    // By hand inside a real server, with no TSVS_RUN_DIR: the lab's agent is the one seen.
    const rs1 = nsName(lab, 'rs1');
    const chk = await tsvs(['realserver', 'check', '--vip', '192.168.10.100', '--mode', 'tun'], rs1);
    assert.equal(chk.code, 0, chk.stdout);
    assert.match(chk.stdout, /PASS {2}tunnel decapsulation: in user space by the tsvs agent/);
    const st = await tsvs(['realserver', 'status'], rs1);
    assert.equal(st.code, 0, st.stdout);
    assert.match(st.stdout, /\nready: TUN real server for 192\.168\.10\.100 \(lab tun\)\n$/);
    // A user who is not root sees the same verdict (the agent runs as root).
    const copy = mkdtempSync(join(tmpdir(), 'tsvs-client-'));
    try {
      for (const f of ['bin', 'dist', 'package.json']) cpSync(join(ROOT, f), join(copy, f), { recursive: true });
      await inNs(null, ['chmod', '-R', 'a+rX', copy]);
      const user = await inNs(
        rs1,
        ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(copy, 'bin/tsvs'), 'realserver', 'status'],
        { env: { TSVS_RUN_DIR: '' } },
      );
      assert.equal(user.code, 0, user.stdout + user.stderr);
      assert.match(user.stdout, /\nready: TUN real server for 192\.168\.10\.100 \(lab tun\)\n$/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
    const again = await tsvs(['realserver', 'start', '--vip', '192.168.10.100', '--tunnel', 'ipip'], rs1);
    assert.equal(again.stdout, 'already configured\n', 'no second tunnel agent');
    const r = await labRun(lab, 4, env);
    assert.equal(r.failures, 0, 'every request arrives once and is answered');

    // Stopping the agent by hand stops all of it (tunnel agent, VIP, sysctls), and the lab
    // is then unhealthy, saying which real server.
    const stop = await tsvs(['realserver', 'stop'], nsName(lab, 'rs2'));
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, /^tunnel decapsulation stopped \(pid \d+\)\n/);
    assert.match(stop.stdout, /\naddress 192\.168\.10\.100\/32 removed from lo\n/);
    assert.match(stop.stdout, /\nnote: these were lab tun's settings: tsvs lab up tun rebuilds the lab\n$/);
    const sick = await tsvs(['lab', 'status', 'tun']);
    assert.equal(sick.code, 1);
    assert.match(sick.stdout, /^tun is up but not healthy:\n/);
    assert.match(sick.stdout, /\n {2}problem: rs2: real-server agent not ready: /);
    await labDown(lab);
    assert.equal((await tsvs(['lab', 'status', 'tun'])).code, 1);
  });
});
