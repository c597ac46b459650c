// Connection sync end to end: two packet-engine directors on one LAN, the master's sync daemon
// multicasting its conns to the backup's. A client holds 200 long-lived connections through
// the VIP (16 bytes echoed every 100 ms each) and uploads 10 MB; the master is killed with
// SIGKILL and the VIP moved to the backup by hand (what keepalived's takeover does: the address,
// then a gratuitous ARP / unsolicited NA, here the client's neighbour entry). The connections
// must go on through the backup without a reset, the upload must arrive intact, and a
// persistent service must send the client's new connections to the same real server.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ip, Topology } from '../../src/lab/netns.js';
import { ensureBuilt, freshRunDir, inNs, requireNetns, TSVS, TSVSADM } from './harness.js';

const skip = requireNetns();
const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Connections the client holds, and bytes it uploads (the figures). */
const CONNS = 200;
const UPLOAD = 10 << 20;

interface Family {
  name: string;
  v6: boolean;
  net: (host: number) => string;
  prefix: number;
}
const FAMILIES: Family[] = [
  { name: 'IPv4', v6: false, net: (h) => `10.77.0.${h}`, prefix: 24 },
  { name: 'IPv6', v6: true, net: (h) => `fd77::${h.toString(16)}`, prefix: 64 },
];

/** Waits for a line matching `re` on the child's stdout. */
function lineFrom(child: ChildProcess, re: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const t = setTimeout(() => reject(new Error(`no line matching ${re} within ${ms} ms`)), ms);
    rl.on('line', (l) => {
      if (re.test(l)) {
        clearTimeout(t);
        rl.close();
        resolve(l);
      }
    });
  });
}

for (const fam of FAMILIES) {
  describe(`sync failover, DR, ${fam.name}`, { skip }, () => {
    const topo = new Topology();
    const ns: Record<string, string> = {};
    const runDir = freshRunDir();
    const env = { TSVS_RUN_DIR: runDir, TSVS_ENGINE: 'packet' };
    const vip = fam.net(100);
    const hostAddr = { client: 1, dir1: 2, dir2: 3, rs1: 11, rs2: 12 } as const;
    const adm = async (host: string, args: string[]) => {
      const r = await inNs(ns[host]!, [TSVSADM, ...args], { env });
      assert.equal(r.code, 0, `${host}: tsvsadm ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const status = async (host: string) => {
      const r = await inNs(ns[host]!, [TSVS, 'status', '--json'], { env });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { pid: number; conns: number; sync: { state: string; running: boolean; error: string | null; master?: { conns: number }; backup?: { entries: number; created: number } }[] };
    };

    before(async () => {
      ensureBuilt();
      const sw = await topo.netns('sw');
      for (const k of ['iptables', 'ip6tables', 'arptables']) {
        await inNs(sw, ['sysctl', '-qw', `net.bridge.bridge-nf-call-${k}=0`]);
      }
      await ip(['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
      await ip(['-n', sw, 'link', 'set', 'br0', 'up']);
      let port = 0;
      for (const [h, n] of Object.entries(hostAddr)) {
        ns[h] = await topo.netns(h);
        const peer = `p${port++}`;
        await ip(['link', 'add', 'eth0', 'netns', ns[h]!, 'type', 'veth', 'peer', 'name', peer, 'netns', sw]);
        await ip(['-n', sw, 'link', 'set', peer, 'master', 'br0']);
        await ip(['-n', sw, 'link', 'set', peer, 'up']);
        // The sync daemons need an IPv4 address to send from and join on in both cases.
        await ip(['-n', ns[h]!, 'addr', 'add', `10.78.0.${n}/24`, 'dev', 'eth0']);
        if (fam.v6) await ip(['-n', ns[h]!, 'addr', 'add', `${fam.net(n)}/${fam.prefix}`, 'dev', 'eth0', 'nodad']);
        else await ip(['-n', ns[h]!, 'addr', 'add', `${fam.net(n)}/${fam.prefix}`, 'dev', 'eth0']);
        await ip(['-n', ns[h]!, 'link', 'set', 'eth0', 'up']);
      }
      const host = fam.v6 ? 128 : 32;
      for (const rs of ['rs1', 'rs2']) {
        await ip(['-n', ns[rs]!, 'addr', 'add', `${vip}/${host}`, 'dev', 'lo']);
        await topo.sysctl(ns[rs]!, 'net.ipv4.conf.all.arp_ignore', '1');
        await topo.sysctl(ns[rs]!, 'net.ipv4.conf.all.arp_announce', '2');
        const srv = topo.spawn(ns[rs]!, [process.execPath, '--import', 'tsx', fixture('sync-echo-server.ts'), rs, '80']);
        await lineFrom(srv, /^ready$/, 20_000);
      }
      // The master holds the VIP on its LAN interface; the backup keeps it on lo without
      // answering ARP for it, so that its engine does not answer either until the takeover.
      await ip(['-n', ns.dir1!, 'addr', 'add', `${vip}/${host}`, 'dev', 'eth0', ...(fam.v6 ? ['nodad'] : [])]);
      await ip(['-n', ns.dir2!, 'addr', 'add', `${vip}/${host}`, 'dev', 'lo']);
      await topo.sysctl(ns.dir2!, 'net.ipv4.conf.all.arp_ignore', '1');
      const svc = fam.v6 ? `[${vip}]:80` : `${vip}:80`;
      for (const d of ['dir1', 'dir2']) {
        await adm(d, ['-A', '-t', svc, '-s', 'rr', '-p', '300']);
        await adm(d, ['-a', '-t', svc, '-r', fam.v6 ? `[${fam.net(11)}]:80` : `${fam.net(11)}:80`, '-g']);
        await adm(d, ['-a', '-t', svc, '-r', fam.v6 ? `[${fam.net(12)}]:80` : `${fam.net(12)}:80`, '-g']);
      }
      await adm('dir1', ['--start-daemon', 'master', '--mcast-interface', 'eth0', '--syncid', '7']);
      await adm('dir2', ['--start-daemon', 'backup', '--mcast-interface', 'eth0', '--syncid', '7']);
    });
    after(() => topo.teardown());

    it('-L --daemon lists the running daemons', async () => {
      assert.equal(await adm('dir1', ['-L', '--daemon']), 'master sync daemon (mcast=eth0, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n');
      const st = await status('dir2');
      assert.equal(st.sync.length, 1);
      assert.equal(st.sync[0]!.running, true, st.sync[0]!.error ?? '');
    });

    it(`${CONNS} connections and a 10 MB upload survive the master's death`, async () => {
      const client = topo.spawn(ns.client!, [process.execPath, '--import', 'tsx', fixture('sync-client.ts'), vip, '80', String(CONNS), String(UPLOAD)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      await lineFrom(client, /^ready$/, 30_000);
      // Each conn is sent at its 3rd packet; a partly filled message leaves within 2 s.
      const deadline = Date.now() + 10_000;
      let backup = await status('dir2');
      while ((backup.sync[0]?.backup?.created ?? 0) < CONNS + 1 && Date.now() < deadline) {
        await sleep(250);
        backup = await status('dir2');
      }
      assert.ok((backup.sync[0]?.backup?.created ?? 0) >= CONNS + 1, `the backup has ${JSON.stringify(backup.sync)}`);

      const master = await status('dir1');
      process.kill(master.pid, 'SIGKILL');
      const mac = await topo.mac(ns.dir2!, 'eth0');
      await ip(['-n', ns.client!, 'neigh', 'replace', vip, 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent']);
      client.stdin!.write('mark\n');
      await sleep(3000);
      client.stdin!.write('new 10\n');
      await sleep(12_000); // the upload's rest at 1.3 MB/s, and the new connections' greetings
      client.stdin!.write('report\n');
      const report = JSON.parse(await lineFrom(client, /^\{/, 10_000)) as {
        alive: number;
        errors: string[];
        servers: string[];
        fresh: string[];
        upload: { sent: number; ok: boolean; error: string | null };
      };
      assert.ok(report.alive >= Math.ceil(CONNS * 0.99), `only ${report.alive} of ${CONNS} went on: ${report.errors.slice(0, 5).join(', ')}`);
      assert.equal(report.upload.sent, UPLOAD);
      assert.equal(report.upload.error, null);
      assert.equal(report.upload.ok, true, 'the upload arrived intact (sha256)');
      assert.equal(report.servers.length, 1, 'persistence: one real server for the client');
      assert.equal(report.fresh.length, 10);
      assert.deepEqual([...new Set(report.fresh)], report.servers, 'new connections on the backup follow the synced template');
    });
  });
}
