// VS/TUN on the packet engine, in the lab 'tun' (director and two real servers on one LAN, the
// real servers decapsulating in user space with the agent): 10 MB both ways intact through an
// ipip tunnel, which needs PMTU discovery (the director's ICMP "fragmentation needed" brings the
// client's TCP down to the tunnel MTU); every tunnel type (ipip, gue, gre, with and without
// checksums) balances and carries data; malformed tunnel packets are dropped and counted by the
// agent, which goes on decapsulating; `realserver check --mode tun` names the decapsulation path.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DecapCounters } from '../../src/agent/tunnel-agent.js';
import { blob, sha256 } from '../../src/lab/blob.js';
import { agentRunDir, labDown, labRun, labUp, nsName } from '../../src/lab/lab.js';
import { findLab } from '../../src/lab/labs.js';
import { ensureBuilt, inNs, requireNetns, TSVS, TSVSADM } from './harness.js';

const skip = requireNetns();
const env = { TSVS_ENGINE: 'packet' };
const lab = findLab('tun')!;
const VIP = '192.168.10.100';
const RIPS = [
  ['rs1', '192.168.10.12'],
  ['rs2', '192.168.10.13'],
] as const;
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

async function sh(host: string, script: string): Promise<string> {
  const r = await inNs(nsName(lab, host), ['sh', '-c', script], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `${host}: ${script}: ${r.stderr}`);
  return r.stdout.trim();
}

async function agent(host: string, args: string[]): Promise<string> {
  const r = await inNs(nsName(lab, host), [process.execPath, TSVS, 'realserver', ...args], {
    env: { TSVS_RUN_DIR: agentRunDir(lab, host) },
  });
  assert.equal(r.code, 0, `${host}: realserver ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function decap(host: string): Promise<DecapCounters> {
  const s = JSON.parse(await agent(host, ['status', '--json'])) as { decap: DecapCounters | null };
  assert.ok(s.decap, `${host}: no tunnel agent runs`);
  return s.decap;
}

/** The agent writes its counters at most every 200 ms. */
function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 300));
}

async function adm(args: string[]): Promise<string> {
  const r = await inNs(nsName(lab, 'director'), [process.execPath, TSVSADM, ...args], { env });
  assert.equal(r.code, 0, `tsvsadm ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function upload(bytes: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-tun-'));
  try {
    const file = join(dir, 'up.bin');
    const data = blob(bytes);
    writeFileSync(file, data);
    const up = await sh('client', `curl -sf --max-time 60 --data-binary @${file} http://${VIP}/`);
    assert.equal(up.split(' ')[1], sha256(data), `upload digest (answered by ${up.split(' ')[0]})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Switches both dests and both agents to another tunnel type. */
async function useTunnel(kind: 'ipip' | 'gue' | 'gre', csum: boolean): Promise<void> {
  const port = kind === 'gue' ? ['--tun-port', '6080'] : [];
  for (const [host, rip] of RIPS) {
    const sum = kind === 'ipip' ? [] : [csum ? '--tun-csum' : '--tun-nocsum'];
    await adm(['-e', '-t', `${VIP}:80`, '-r', rip, '-i', '--tun-type', kind, ...port, ...sum]);
    await agent(host, ['stop']);
    await agent(host, ['start', '--vip', VIP, '--tunnel', kind, ...port]);
  }
}

describe('TUN on the packet engine (lab tun)', { skip }, () => {
  before(async () => {
    ensureBuilt();
    await labUp(lab, () => {}, env);
  });
  after(async () => {
    await labDown(lab);
  });

  it('ipip: 10 MB down and up intact; the client learns the tunnel MTU from the director', async () => {
    const down = await sh('client', `curl -sf --max-time 60 http://${VIP}/blob/${10 << 20} | sha256sum`);
    assert.equal(down.split(' ')[0], sha256(blob(10 << 20)));
    await upload((10 << 20) + 4321);
    // 1500-byte segments do not fit a 1480-byte tunnel: PMTU discovery must have happened.
    assert.match(await sh('client', `ip route get ${VIP}`), /mtu 1480/);
    const st = JSON.parse((await inNs(nsName(lab, 'director'), [process.execPath, TSVS, 'status', '--json'])).stdout) as {
      drops: Record<string, number>;
      notes: string[];
    };
    assert.ok((st.drops.mtu_exceeded ?? 0) > 0, JSON.stringify(st));
    assert.match(st.notes.join('\n'), /ICMP fragmentation-needed sent [1-9]/);
    await settle();
    const cs = [await decap('rs1'), await decap('rs2')];
    assert.ok(cs[0]!.delivered + cs[1]!.delivered > 1000, JSON.stringify(cs));
    for (const c of cs) assert.deepEqual(c.drops, {});
  });

  for (const [kind, csum] of [
    ['gue', false],
    ['gue', true],
    ['gre', false],
    ['gre', true],
    ['ipip', false],
  ] as const) {
    it(`${kind}${csum ? ' with checksums' : ''}: rr over both real servers, 2 MB up intact`, async () => {
      await useTunnel(kind, csum);
      const r = await labRun(lab, 10, env);
      assert.equal(r.failures, 0, r.stats);
      assert.deepEqual(r.counts, { rs1: 5, rs2: 5 });
      await upload((2 << 20) + 77);
      await settle();
      const c = await decap('rs1');
      assert.equal(c.tunnel, kind);
      assert.ok(c.delivered > 0);
    });
  }

  for (const kind of ['ipip', 'gue', 'gre'] as const) {
    it(`${kind}: malformed tunnel packets are dropped and counted by the agent, which keeps going`, async () => {
      await useTunnel(kind, false);
      const pre = await decap('rs1');
      const count = 25;
      const out = await sh(
        'director',
        [process.execPath, '--import', 'tsx', fixture('bad-tunnel.ts'), kind, '192.168.10.12', '6080', VIP, String(count)].join(' '),
      );
      const { sent, expect } = JSON.parse(out) as { sent: number; expect: Record<string, number> };
      assert.ok(sent > 0);
      let post = await decap('rs1');
      for (let i = 0; i < 30 && post.received - pre.received < sent; i++) {
        await settle();
        post = await decap('rs1');
      }
      assert.equal(post.received - pre.received, sent, JSON.stringify(post));
      assert.equal(post.delivered, pre.delivered, 'nothing malformed was delivered');
      for (const [why, n] of Object.entries(expect)) {
        if (why === 'random') continue;
        const got = (post.drops[why as keyof typeof post.drops] ?? 0) - (pre.drops[why as keyof typeof pre.drops] ?? 0);
        assert.ok(got >= n, `${why}: ${got} counted of ${n}: ${JSON.stringify(post.drops)}`);
      }
      const r = await labRun(lab, 4, env);
      assert.equal(r.failures, 0);
    });
  }

  it('realserver check --mode tun passes with the agent and names the fix without it', async () => {
    const ok = await inNs(nsName(lab, 'rs1'), [process.execPath, TSVS, 'realserver', 'check', '--vip', VIP, '--mode', 'tun'], {
      env: { TSVS_RUN_DIR: agentRunDir(lab, 'rs1') },
    });
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, /PASS {2}tunnel decapsulation: .*user space/);
    await agent('rs1', ['stop']);
    await agent('rs1', ['start', '--vip', VIP]);
    const bad = await inNs(nsName(lab, 'rs1'), [process.execPath, TSVS, 'realserver', 'check', '--vip', VIP, '--mode', 'tun'], {
      env: { TSVS_RUN_DIR: agentRunDir(lab, 'rs1') },
    });
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /FAIL {2}tunnel decapsulation: .*\n {6}fix: tsvs realserver start --vip 192\.168\.10\.100 --tunnel ipip/);
  });
});
