// VS/TUN over IPv6 in the lab 'tun6' (dual-stack hosts on one LAN, real servers decapsulating
// in user space): ip6ip6 carries 10 MB both ways and PMTU discovery sets the client to the
// tunnel MTU; the mixed pairings the kernel allows, 4in6 (an IPv4 service, IPv6 real servers)
// and 6in4 (the reverse), balance and carry data; gue and gre work over an IPv6 outer header.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blob, sha256 } from '../../src/lab/blob.js';
import { agentRunDir, labDown, labUp, nsName } from '../../src/lab/lab.js';
import { findLab } from '../../src/lab/labs.js';
import { ensureBuilt, inNs, requireNetns, TSVS, TSVSADM } from './harness.js';

const skip = requireNetns();
const env = { TSVS_ENGINE: 'packet' };
const lab = findLab('tun6')!;
const VIP6 = '2001:db8:10::100';
const VIP4 = '192.168.10.100';
const RS = [
  ['rs1', '2001:db8:10::12', '192.168.10.12'],
  ['rs2', '2001:db8:10::13', '192.168.10.13'],
] as const;

async function sh(host: string, script: string): Promise<string> {
  const r = await inNs(nsName(lab, host), ['sh', '-c', script], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `${host}: ${script}: ${r.stderr}`);
  return r.stdout.trim();
}

async function adm(args: string[]): Promise<void> {
  const r = await inNs(nsName(lab, 'director'), [process.execPath, TSVSADM, ...args], { env });
  assert.equal(r.code, 0, `tsvsadm ${args.join(' ')}: ${r.stderr}`);
}

async function agents(args: string[]): Promise<void> {
  for (const [host] of RS) {
    for (const a of [['stop'], ['start', ...args]]) {
      const r = await inNs(nsName(lab, host), [process.execPath, TSVS, 'realserver', ...a], {
        env: { TSVS_RUN_DIR: agentRunDir(lab, host) },
      });
      assert.equal(r.code, 0, r.stderr);
    }
  }
}

/** Ten requests alternate over both real servers; an upload arrives intact. */
async function balances(url: string, upload: number): Promise<void> {
  const names: string[] = [];
  for (let i = 0; i < 10; i++) names.push(await sh('client', `curl -sf --max-time 3 '${url}'`));
  assert.deepEqual(names.filter((n) => n === 'rs1').length, 5, names.join(' '));
  assert.ok(
    names.every((n, i) => i === 0 || n !== names[i - 1]),
    `rr alternates: ${names.join(' ')}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-tun6-'));
  try {
    const file = join(dir, 'up.bin');
    const data = blob(upload);
    writeFileSync(file, data);
    const up = await sh('client', `curl -sf --max-time 60 --data-binary @${file} '${url}'`);
    assert.equal(up.split(' ')[1], sha256(data));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('TUN over IPv6 on the packet engine (lab tun6)', { skip }, () => {
  before(async () => {
    ensureBuilt();
    await labUp(lab, () => {}, env);
  });
  after(async () => {
    await labDown(lab);
  });

  it('ip6ip6: rr, 10 MB down and up intact, the client learns the tunnel MTU', async () => {
    await balances(`http://[${VIP6}]/`, (10 << 20) + 5);
    const down = await sh('client', `curl -sf --max-time 60 'http://[${VIP6}]/blob/${10 << 20}' | sha256sum`);
    assert.equal(down.split(' ')[0], sha256(blob(10 << 20)));
    assert.match(await sh('client', `ip -6 route get ${VIP6}`), /mtu 1460/);
  });

  it('4in6 and 6in4: an IPv4 service on IPv6 real servers, and an IPv6 service on IPv4 ones', async () => {
    await sh('director', `ip addr add ${VIP4}/24 dev eth0`);
    await adm(['-A', '-t', `${VIP4}:80`, '-s', 'rr']);
    await adm(['-A', '-t', `[${VIP6}]:81`, '-s', 'rr']);
    for (const [, r6, r4] of RS) {
      await adm(['-a', '-t', `${VIP4}:80`, '-r', `[${r6}]:80`, '-i']);
      await adm(['-a', '-t', `[${VIP6}]:81`, '-r', `${r4}:81`, '-i']);
    }
    await agents(['--vip', VIP6, '--vip', VIP4, '--tunnel', 'ipip']);
    for (const [host] of RS) {
      await sh(
        host,
        `(${process.execPath} ${join(import.meta.dirname, '../../dist/lab/http-server.js')} ${host} 81 >/dev/null 2>&1 &) ; sleep 0.5`,
      );
    }
    await balances(`http://${VIP4}/`, (2 << 20) + 3);
    await balances(`http://[${VIP6}]:81/`, (2 << 20) + 3);
  });

  for (const kind of ['gue', 'gre'] as const) {
    it(`${kind} over an IPv6 outer header`, async () => {
      const port = kind === 'gue' ? ['--tun-port', '6080'] : [];
      for (const [, r6] of RS) await adm(['-e', '-t', `[${VIP6}]:80`, '-r', `[${r6}]:80`, '-i', '--tun-type', kind, ...port]);
      await agents(['--vip', VIP6, '--vip', VIP4, '--tunnel', kind, ...port]);
      await balances(`http://[${VIP6}]/`, (2 << 20) + 7);
    });
  }
});
