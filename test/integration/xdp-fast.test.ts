// The XDP fast path (`--xdp-fast on`) in the labs seed002-nat, seed002-dr, tun, tun6 and nat6, the director on
// native AF_XDP over veth: real HTTP transfers through it, checked by digest.
//   - While the director's veth peers run neither XDP nor GRO, they take no redirected frames
//     (xdp_features without NDO_XMIT): no conn may go into the map, and every byte arrives
//     through the slow path.
//   - With GRO on those peers, an established conn's frames are forwarded in the kernel: the
//     status counts them, `-L --stats` is credited with them, and the conn leaves the map when
//     it closes.
//   - Segments from a local stack with checksum offload on arrive with partial checksums, which
//     only the slow path completes: they still arrive intact.
// The hosts' checksum offload is turned off for the fast cases, so that their segments arrive
// complete, as from a NIC. Needs root, iproute2, ethtool and curl; CI must not skip it.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FAST_CREDIT_MS } from '../../src/engine/packet/xdp/fast.js';
import { blob, sha256 } from '../../src/lab/blob.js';
import { agentRunDir, labDown, labUp, nsName } from '../../src/lab/lab.js';
import { findLab, type LabDef } from '../../src/lab/labs.js';
import { ensureBuilt, inNs, requireNetns, TSVS, TSVSADM } from './harness.js';

function ethtoolMissing(): string | false {
  try {
    execFileSync('ethtool', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    if (process.env.CI === 'true') throw new Error('CI must run the XDP fast path lab test: ethtool is not installed');
    return 'ethtool is not installed (apt-get install ethtool)';
  }
}

const skip = requireNetns() || ethtoolMissing();
const ENV = { TSVS_ENGINE: 'packet', TSVS_XDP: 'native', TSVS_XDP_FAST: 'on' };
/** Large enough for thousands of segments, small enough for a few seconds on veth. */
const GET_BYTES = 3_000_000;
const POST_BYTES = 1_500_000;

async function sh(ns: string, cmd: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await inNs(ns, cmd, { timeoutMs: 30_000, ...(env ? { env } : {}) });
  assert.equal(r.code, 0, `${cmd.join(' ')} in ${ns}: ${r.stderr}`);
  return r.stdout;
}

async function fastNote(lab: LabDef): Promise<{ inConns: number; outConns: number; packets: number; text: string }> {
  const r = await sh(nsName(lab, lab.director.host), [process.execPath, TSVS, 'status', '--json']);
  const notes = (JSON.parse(r) as { notes: string[] }).notes;
  const text = notes.filter((n) => n.startsWith('xdp fast path')).join('\n');
  const m = /(\d+) conns in, (\d+) out .*?; (\d+) packets forwarded in the kernel/.exec(text);
  assert.ok(m, `tsvs status has the fast path's line:\n${notes.join('\n')}`);
  return { inConns: Number(m[1]), outConns: Number(m[2]), packets: Number(m[3]), text };
}

/** The service line's InPkts and OutPkts of `tsvsadm -L -n --stats`. */
async function servicePkts(lab: LabDef): Promise<{ inPkts: number; outPkts: number }> {
  const out = await sh(nsName(lab, lab.director.host), [process.execPath, TSVSADM, '-L', '-n', '--stats']);
  const line = out.split('\n').find((l) => /^TCP /.test(l))!;
  const f = line.trim().split(/\s+/);
  return { inPkts: Number(f[3]), outPkts: Number(f[4]) };
}

/** Turns every host's checksum offload `on` or off (a local stack then sends complete checksums). */
async function offload(lab: LabDef, on: boolean): Promise<void> {
  const hosts = [lab.client.host, ...lab.realServers.map((r) => r.host)];
  for (const h of hosts) await sh(nsName(lab, h), ['ethtool', '-K', 'eth0', 'tx', on ? 'on' : 'off']);
}

/** GRO on the switch-side peers of the director's interfaces: they then take XDP redirects. */
async function groOnDirectorPeers(lab: LabDef, on: boolean): Promise<void> {
  const dir = nsName(lab, lab.director.host);
  const sw = nsName(lab, 'sw');
  const links = JSON.parse(await sh(dir, ['ip', '-j', 'link', 'show'])) as { ifname: string; link_index?: number }[];
  const swLinks = JSON.parse(await sh(sw, ['ip', '-j', 'link', 'show'])) as { ifname: string; ifindex: number }[];
  for (const l of links) {
    if (l.link_index === undefined) continue;
    const peer = swLinks.find((s) => s.ifindex === l.link_index);
    if (peer) await sh(sw, ['ethtool', '-K', peer.ifname, 'gro', on ? 'on' : 'off']);
  }
}

/** Switches a TUN lab's dests and their real servers' agents to `kind` (GUE on port 6080), without checksums. */
async function retunnel(lab: LabDef, kind: 'gre' | 'gue'): Promise<void> {
  const port = kind === 'gue' ? ['--tun-port', '6080'] : [];
  for (const c of lab.director.commands.filter((cmd) => cmd[0] === '-a')) {
    await sh(nsName(lab, lab.director.host), [process.execPath, TSVSADM, '-e', ...c.slice(1), '--tun-type', kind, ...port, '--tun-nocsum']);
  }
  for (const rs of lab.realServers) {
    const env = { TSVS_RUN_DIR: agentRunDir(lab, rs.host) };
    await sh(nsName(lab, rs.host), [process.execPath, TSVS, 'realserver', 'stop'], env);
    await sh(nsName(lab, rs.host), [process.execPath, TSVS, 'realserver', 'start', '--vip', rs.agentVip!, '--tunnel', kind, ...port], env);
  }
}

/** A scratch file (namespaces share the file system). */
const tmp = (what: string): string => join(tmpdir(), `tsvs-fast-${what}-${process.pid}`);

async function getBlob(lab: LabDef): Promise<void> {
  const file = tmp('get');
  try {
    await sh(nsName(lab, lab.client.host), [
      'curl',
      '-s',
      '--max-time',
      '20',
      '-o',
      file,
      `${new URL(lab.client.url).origin}/blob/${GET_BYTES}`,
    ]);
    const body = readFileSync(file);
    assert.equal(body.length, GET_BYTES, 'every byte of the download');
    assert.equal(sha256(body), sha256(blob(GET_BYTES)), 'the download is intact');
  } finally {
    rmSync(file, { force: true });
  }
}

async function postBlob(lab: LabDef): Promise<void> {
  const file = tmp('post');
  writeFileSync(file, blob(POST_BYTES));
  try {
    const url = `${new URL(lab.client.url).origin}/`;
    const out = await sh(nsName(lab, lab.client.host), ['curl', '-s', '--max-time', '20', '--data-binary', `@${file}`, url]);
    assert.equal(out.trim().split(' ').pop(), sha256(blob(POST_BYTES)), 'the upload arrived intact');
  } finally {
    rmSync(file, { force: true });
  }
}

async function settled(lab: LabDef): Promise<Awaited<ReturnType<typeof fastNote>>> {
  // The fast path credits and re-checks its conns every 500 ms.
  let n = await fastNote(lab);
  for (let i = 0; i < 20 && n.inConns + n.outConns > 0; i++) {
    await new Promise((r) => setTimeout(r, 200));
    n = await fastNote(lab);
  }
  return n;
}

describe('XDP fast path in the labs', { skip, timeout: 300_000 }, () => {
  const nat = findLab('seed002-nat')!;
  const dr = findLab('seed002-dr')!;
  const nat6 = findLab('nat6')!;
  const tun = findLab('tun')!;
  const tun6 = findLab('tun6')!;
  after(async () => {
    for (const l of [nat, dr, nat6, tun, tun6]) await labDown(l);
  });

  it('NAT: kept on the slow path while the peers take no redirects; in the kernel once they do; credited; intact', async () => {
    ensureBuilt();
    try {
      await labUp(nat, () => {}, ENV);
      await offload(nat, false);
      await groOnDirectorPeers(nat, false);

      await getBlob(nat);
      const slow = await settled(nat);
      assert.equal(slow.packets, 0, `no frame went through the kernel without a peer to take it:\n${slow.text}`);
      assert.match(slow.text, /out interface takes no XDP redirects/);

      await groOnDirectorPeers(nat, true);
      // The engine asks again whether an interface takes redirects every FAST_CREDIT_MS.
      await new Promise((r) => setTimeout(r, FAST_CREDIT_MS + 200));
      const before = await servicePkts(nat);
      await getBlob(nat);
      await postBlob(nat);
      const fast = await settled(nat);
      assert.ok(fast.packets > 2000, `the transfers' segments went through the kernel (${fast.packets}):\n${fast.text}`);
      assert.equal(fast.inConns + fast.outConns, 0, `closed conns left the map:\n${fast.text}`);
      const statusJson = await sh(nsName(nat, nat.director.host), [process.execPath, TSVS, 'status', '--json']);
      const counters = (JSON.parse(statusJson) as { counters?: Record<string, number> }).counters ?? {};
      assert.equal(counters.xdp_fast_packets, fast.packets, 'the engine counters (tsvs_engine_xdp_fast_packets_total) say the same');
      const got = await servicePkts(nat);
      const counted = got.inPkts - before.inPkts + (got.outPkts - before.outPkts);
      assert.ok(counted >= fast.packets, `-L --stats counts the kernel's packets (${counted} ≥ ${fast.packets})`);

      // A local stack's partial checksums: the slow path completes them; nothing is lost.
      await offload(nat, true);
      await getBlob(nat);
      await postBlob(nat);
    } finally {
      await labDown(nat);
    }
  });

  it('DR: uploads through the kernel, intact', async () => {
    ensureBuilt();
    try {
      await labUp(dr, () => {}, ENV);
      await offload(dr, false);
      await groOnDirectorPeers(dr, true);
      await postBlob(dr);
      const fast = await settled(dr);
      assert.ok(fast.packets > 500, `the upload's segments went through the kernel (${fast.packets}):\n${fast.text}`);
    } finally {
      await labDown(dr);
    }
  });

  for (const [what, name, others] of [
    ['TUN (IPv4 in IPv4: ipip, then GRE and GUE)', 'tun', ['gre', 'gue']],
    ['TUN over IPv6 (6in6: bare, then GRE)', 'tun6', ['gre']],
  ] as const) {
    it(`${what}: uploads through the kernel, encapsulated there, intact`, async () => {
      const lab = name === 'tun' ? tun : tun6;
      ensureBuilt();
      try {
        await labUp(lab, () => {}, ENV);
        await offload(lab, false);
        await groOnDirectorPeers(lab, true);
        // Segments longer than the tunnel's MTU take the slow path, whose ICMP lowers the client's path MTU.
        await postBlob(lab);
        await getBlob(lab);
        const fast = await settled(lab);
        assert.ok(fast.packets > 500, `the upload's segments went through the kernel (${fast.packets}):\n${fast.text}`);
        assert.equal(fast.inConns, 0, `closed conns left the map:\n${fast.text}`);
        let packets = fast.packets;
        for (const kind of others) {
          await retunnel(lab, kind);
          await postBlob(lab);
          await getBlob(lab);
          const n = await settled(lab);
          assert.ok(
            n.packets - packets > 500,
            `${kind}: the upload's segments went through the kernel (${n.packets - packets}):\n${n.text}`,
          );
          assert.equal(n.inConns, 0, `${kind}: closed conns left the map:\n${n.text}`);
          packets = n.packets;
        }
      } finally {
        await labDown(lab);
      }
    });
  }

  it('NAT over IPv6: downloads and uploads through the kernel, intact, and the conns leave the map', async () => {
    ensureBuilt();
    try {
      await labUp(nat6, () => {}, ENV);
      await offload(nat6, false);
      await groOnDirectorPeers(nat6, true);
      await getBlob(nat6);
      await postBlob(nat6);
      const fast = await settled(nat6);
      assert.ok(fast.packets > 2000, `the transfers' segments went through the kernel (${fast.packets}):\n${fast.text}`);
      assert.equal(fast.inConns + fast.outConns, 0, `closed conns left the map:\n${fast.text}`);
    } finally {
      await labDown(nat6);
    }
  });
});
