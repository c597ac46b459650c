// FULLNAT on the packet engine, in the labs 'fullnat' and 'fullnat6' (the same over IPv6): the
// real servers sit behind a router and route nothing back through the director; they see the
// service's local address (which no interface holds: the engine answers ARP or NDP for it) with
// a port of its own per conn; 10 MB both ways intact; `-c` and the counters follow the conns;
// with --proxy-protocol the director writes a PROXY header into the stream, so a real server
// that reads it learns the true client, and every byte still arrives in both directions
// across the sequence shift; ICMP errors are translated at both ends.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { blob, sha256 } from '../../src/lab/blob.js';
import { labDown, labUp, nsName } from '../../src/lab/lab.js';
import { findLab, type LabDef } from '../../src/lab/labs.js';
import { ensureBuilt, inNs, requireNetns, TSVS, TSVSADM } from './harness.js';

const skip = requireNetns();
const env = { TSVS_ENGINE: 'packet' };
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

interface Case {
  lab: LabDef;
  /** How the client, VIP, local address and real servers are written in listings. */
  client: string;
  vip: string;
  laddr: string;
  rips: [string, string];
  /** The service on port 9090 and its PROXY protocol dests, as tsvsadm arguments. */
  ppService: string;
  ppRips: [string, string];
  /** Another service port for the not-served check. */
  bare: string;
}

const CASES: Case[] = [
  {
    lab: findLab('fullnat')!,
    client: '172.16.0.200',
    vip: '172.16.0.100',
    laddr: '10.0.2.100',
    rips: ['10.0.3.11', '10.0.3.12'],
    ppService: '172.16.0.100:9090',
    ppRips: ['10.0.3.11:9090', '10.0.3.12:9090'],
    bare: '172.16.0.100:81',
  },
  {
    lab: findLab('fullnat6')!,
    client: '[2001:db8:16::200]',
    vip: '[2001:db8:16::100]',
    laddr: '[2001:db8:2a::100]',
    rips: ['[2001:db8:3a::11]', '[2001:db8:3a::12]'],
    ppService: '[2001:db8:16::100]:9090',
    ppRips: ['[2001:db8:3a::11]:9090', '[2001:db8:3a::12]:9090'],
    bare: '[2001:db8:16::100]:81',
  },
];

const esc = (s: string) => s.replace(/[.[\]]/g, '\\$&');

for (const c of CASES) {
  const lab = c.lab;
  const url = lab.client.url;

  const sh = async (host: string, script: string): Promise<string> => {
    const r = await inNs(nsName(lab, host), ['sh', '-c', script], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `${host}: ${script}: ${r.stderr}`);
    return r.stdout.trim();
  };

  const adm = async (args: string[]): Promise<string> => {
    const r = await inNs(nsName(lab, 'director'), [process.execPath, TSVSADM, ...args], { env });
    assert.equal(r.code, 0, `tsvsadm ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  /** Starts a long-running fixture in a lab host; labDown ends it with the namespace. */
  const startDetached = (host: string, cmd: string[]): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', nsName(lab, host), ...cmd], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
      const t = setTimeout(() => reject(new Error(`${cmd.join(' ')} did not start`)), 20_000);
      child.stdout!.on('data', (b: Buffer) => {
        if (!b.toString().includes('ready')) return;
        clearTimeout(t);
        child.stdout!.destroy();
        child.unref();
        resolve();
      });
      child.on('exit', (code) => reject(new Error(`${cmd.join(' ')} exited ${code}`)));
    });

  describe(`FULLNAT on the packet engine (lab ${lab.name})`, { skip }, () => {
    before(async () => {
      ensureBuilt();
      await labUp(lab, () => {}, env);
    });
    after(async () => {
      await labDown(lab);
    });

    it('real servers see the local address, a distinct port per conn; replies come back through the director', async () => {
      const peers: string[] = [];
      for (let i = 0; i < 20; i++) peers.push(await sh('client', `curl -sf --max-time 3 '${url}peer'`));
      const ports = new Set<string>();
      const laddr = c.laddr.replace(/[[\]]/g, '');
      for (const p of peers) {
        const at = p.lastIndexOf(':');
        assert.equal(p.slice(0, at), laddr, `the real server saw ${p}`);
        assert.ok(Number(p.slice(at + 1)) >= 1025);
        ports.add(p.slice(at + 1));
      }
      assert.equal(ports.size, 20, 'every conn had its own local port');
      const conns = await adm(['-L', '-n', '-c']);
      const rows = conns.split('\n').filter((l) => l.startsWith('TCP'));
      assert.equal(rows.length, 20, conns);
      const row = new RegExp(`^TCP +\\S+ +TIME_WAIT +${esc(c.client)}:\\d+ +${esc(c.vip)}:80 +(${esc(c.rips[0])}|${esc(c.rips[1])}):8080$`);
      for (const r of rows) assert.match(r, row);
      // The extension column: the local address and port each conn used, as the real servers saw them.
      const local = (await adm(['-L', '-n', '-c', '--laddr-info'])).split('\n').filter((l) => l.startsWith('TCP'));
      assert.deepEqual(
        new Set(local.map((l) => l.trim().split(/\s+/)[6]!.replace(/[[\]]/g, ''))),
        new Set(peers),
        'the local column lists what the real servers saw',
      );
      const stats = await adm(['-L', '-n', '--stats']);
      assert.match(stats, new RegExp(`^TCP +${esc(c.vip)}:80 +20 `, 'm'));
      // Both directions go through the director, so OutPkts counts the replies.
      const outPkts = Number(
        stats
          .split('\n')
          .find((l) => l.startsWith('TCP'))!
          .trim()
          .split(/\s+/)[4],
      );
      assert.ok(outPkts >= 60, stats);
    });

    it('10 MB down and up arrive intact', async () => {
      const down = await sh('client', `curl -sf --max-time 60 '${url}blob/${10 << 20}' | sha256sum`);
      assert.equal(down.split(' ')[0], sha256(blob(10 << 20)));
      const dir = mkdtempSync(join(tmpdir(), 'tsvs-fullnat-'));
      try {
        const file = join(dir, 'up.bin');
        const data = blob((10 << 20) + 999);
        writeFileSync(file, data);
        const up = await sh('client', `curl -sf --max-time 60 --data-binary @${file} '${url}'`);
        assert.equal(up.split(' ')[1], sha256(data));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('--proxy-protocol v1 and v2: the real server learns the true client; 4 MB up, 3 MB down intact', async () => {
      for (const rs of ['rs1', 'rs2']) {
        await startDetached(rs, [process.execPath, '--import', 'tsx', fixture('pp-server.ts'), '9090', String(3 << 20)]);
      }
      await adm(['-A', '-t', c.ppService, '-s', 'rr', '--laddr', c.laddr.replace(/[[\]]/g, '')]);
      await adm(['-a', '-t', c.ppService, '-r', c.ppRips[0], '--fullnat', '--proxy-protocol', 'v1']);
      await adm(['-a', '-t', c.ppService, '-r', c.ppRips[1], '--fullnat', '--proxy-protocol', 'v2']);
      const send = (4 << 20) + 17;
      const vip = c.vip.replace(/[[\]]/g, '');
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const out = await sh('client', [process.execPath, '--import', 'tsx', fixture('pp-client.ts'), vip, '9090', String(send)].join(' '));
        const r = JSON.parse(out) as { line: string; bytes: number; sha: string };
        const [from, to, bytes, sha] = r.line.split(' ');
        assert.match(from!, new RegExp(`^${esc(c.client)}:\\d+$`), `the real server was told ${r.line}`);
        assert.equal(to, `${c.vip}:9090`);
        assert.equal(Number(bytes), send, 'the header is not part of the client bytes');
        assert.equal(sha, sha256(blob(send)), 'upload intact after the sequence shift');
        assert.equal(r.bytes, 3 << 20);
        assert.equal(r.sha, sha256(blob(3 << 20)), 'download intact after the acknowledgment shift');
        seen.add(from!);
      }
      assert.equal(seen.size, 4, 'each conn told its own client port');
      await adm(['-D', '-t', c.ppService]);
    });

    it("a real server's port unreachable reaches the client about its own packet (ICMP translated both ends)", async () => {
      const vip = c.vip.replace(/[[\]]/g, '');
      const svc = c.ppService.replace(':9090', ':5353');
      await adm(['-A', '-u', svc, '-s', 'rr', '--laddr', c.laddr.replace(/[[\]]/g, '')]);
      await adm(['-a', '-u', svc, '-r', `${c.rips[0]}:5353`, '--fullnat']);
      // Nothing listens on :5353: the error the real server sends to the local address must come
      // back to the client as an error about VIP:5353, or its connected socket never hears of it.
      const out = await sh('client', [process.execPath, '--import', 'tsx', fixture('udp-refused.ts'), vip, '5353', '3000'].join(' '));
      assert.equal(out, 'refused');
      await adm(['-D', '-u', svc]);
    });

    it('a FULLNAT dest of a service without --laddr is reported as not served', async () => {
      await adm(['-A', '-t', c.bare, '-s', 'rr']);
      await adm(['-a', '-t', c.bare, '-r', `${c.rips[0]}:8080`, '--fullnat']);
      const r = await inNs(nsName(lab, 'director'), [process.execPath, TSVS, 'status', '--json']);
      const st = JSON.parse(r.stdout) as { unserved: { rule: string; reason: string }[] };
      assert.ok(
        st.unserved.some((u) => u.rule.includes(':81') && /--laddr/.test(u.reason)),
        JSON.stringify(st.unserved),
      );
      await adm(['-D', '-t', c.bare]);
    });
  });
}
