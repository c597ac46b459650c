// Connection sync end to end: two packet-engine directors on one LAN, the master's sync daemon
// multicasting its conns to the backup's, for DR, NAT and FULLNAT (real servers on a second
// network behind the directors for NAT and FULLNAT). A client holds 200 long-lived connections through
// the VIP (16 bytes echoed every 100 ms each) and uploads 10 MB; the master's host dies (off
// the network, its director killed with SIGKILL) and the VIP is moved to the backup by hand (what keepalived's takeover does: the address,
// then a gratuitous ARP / unsolicited NA, here the neighbour entries of the client and, for NAT's
// gateway and FULLNAT's local address, of the real servers). The connections
// must go on through the backup without a reset, the upload must arrive intact, and a
// persistent service must send the client's new connections to the same real server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ip, Topology } from '../../src/lab/netns.js';
import { checkTakeover, lineFrom } from './failover-client.js';
import { ensureBuilt, freshRunDir, inNs, requireNetns, TSVS, TSVSADM } from './harness.js';

const skip = requireNetns();
const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Connections the client holds, and bytes it uploads (the figures). */
const CONNS = 200;
const UPLOAD = 10 << 20;

type Fwd = 'dr' | 'nat' | 'fullnat';

interface Case {
  fwd: Fwd;
  v6: boolean;
  /** Address `h` of the client LAN (a) or of the real servers' network (b). */
  a: (h: number) => string;
  b: (h: number) => string;
  prefix: number;
}
const v4 = (net: number) => (h: number) => `10.${net}.0.${h}`;
const v6 = (net: number) => (h: number) => `fd${net}::${h.toString(16)}`;
const CASES: Case[] = [
  { fwd: 'dr', v6: false, a: v4(77), b: v4(77), prefix: 24 },
  { fwd: 'dr', v6: true, a: v6(77), b: v6(77), prefix: 64 },
  { fwd: 'nat', v6: false, a: v4(77), b: v4(79), prefix: 24 },
  { fwd: 'nat', v6: true, a: v6(77), b: v6(79), prefix: 64 },
  { fwd: 'fullnat', v6: false, a: v4(77), b: v4(79), prefix: 24 },
];
/** A link-local IPv6 group for the IPv6 cases' sync daemons. */
const SYNC_GROUP6 = 'ff02::8848';
/** The real servers' gateway (NAT) or the directors' local address (FULLNAT): moves with the VIP. */
const INSIDE = 254;

for (const c of CASES) {
  describe(`sync failover, ${c.fwd.toUpperCase()}, ${c.v6 ? 'IPv6' : 'IPv4'}`, { skip }, () => {
    const topo = new Topology();
    const ns: Record<string, string> = {};
    const runDir = freshRunDir();
    const env = { TSVS_RUN_DIR: runDir, TSVS_ENGINE: 'packet' };
    const vip = c.a(100);
    const inside = c.b(INSIDE);
    const split = c.fwd !== 'dr';
    const bracket = (a: string) => (c.v6 ? `[${a}]` : a);
    const rport = c.fwd === 'dr' ? 80 : 8080;
    const hostAddr = { client: 1, dir1: 2, dir2: 3, rs1: 11, rs2: 12 } as const;
    const adm = async (host: string, args: string[]) => {
      const r = await inNs(ns[host]!, [TSVSADM, ...args], { env });
      assert.equal(r.code, 0, `${host}: tsvsadm ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const status = async (host: string) => {
      const r = await inNs(ns[host]!, [TSVS, 'status', '--json'], { env });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as {
        pid: number;
        conns: number;
        sync: {
          state: string;
          running: boolean;
          error: string | null;
          master?: { conns: number };
          backup?: { entries: number; created: number };
        }[];
      };
    };

    before(async () => {
      ensureBuilt();
      const sw = await topo.netns('sw');
      for (const k of ['iptables', 'ip6tables', 'arptables']) {
        await inNs(sw, ['sysctl', '-qw', `net.bridge.bridge-nf-call-${k}=0`]);
      }
      for (const br of ['br-a', 'br-b']) {
        await ip(['-n', sw, 'link', 'add', br, 'type', 'bridge']);
        await ip(['-n', sw, 'link', 'set', br, 'up']);
      }
      let port = 0;
      const plug = async (h: string, dev: string, br: string, addrs: string[]) => {
        const peer = `p${port++}`;
        await ip(['link', 'add', dev, 'netns', ns[h]!, 'type', 'veth', 'peer', 'name', peer, 'netns', sw]);
        await ip(['-n', sw, 'link', 'set', peer, 'master', br]);
        await ip(['-n', sw, 'link', 'set', peer, 'up']);
        for (const a of addrs) await ip(['-n', ns[h]!, 'addr', 'add', a, 'dev', dev, ...(a.includes(':') ? ['nodad'] : [])]);
        await ip(['-n', ns[h]!, 'link', 'set', dev, 'up']);
      };
      for (const [h, n] of Object.entries(hostAddr)) {
        ns[h] = await topo.netns(h);
        const rs = h.startsWith('rs');
        // The sync daemons send from and join on an IPv4 address of eth0 in every case.
        const lan = [`10.78.0.${n}/24`, `${c.a(n)}/${c.prefix}`];
        if (!split || !rs) await plug(h, 'eth0', 'br-a', rs ? [`${c.b(n)}/${c.prefix}`] : lan);
        if (split && (rs || h.startsWith('dir'))) await plug(h, rs ? 'eth0' : 'eth1', 'br-b', [`${c.b(n)}/${c.prefix}`]);
      }
      const host = c.v6 ? 128 : 32;
      const hostAddrOf = (a: string) => `${a}/${host}`;
      for (const rs of ['rs1', 'rs2']) {
        if (c.fwd === 'dr') {
          await ip(['-n', ns[rs]!, 'addr', 'add', hostAddrOf(vip), 'dev', 'lo']);
          await topo.sysctl(ns[rs]!, 'net.ipv4.conf.all.arp_ignore', '1');
          await topo.sysctl(ns[rs]!, 'net.ipv4.conf.all.arp_announce', '2');
        }
        if (c.fwd === 'nat') await ip(['-n', ns[rs]!, ...(c.v6 ? ['-6'] : []), 'route', 'add', 'default', 'via', inside]);
        const srv = topo.spawn(ns[rs]!, [process.execPath, '--import', 'tsx', fixture('sync-echo-server.ts'), rs, String(rport)]);
        await lineFrom(srv, /^ready$/, 20_000);
      }
      // The master holds the VIP (and the inside address) on its interfaces; the backup keeps
      // them on lo without answering ARP for them, so that its engine does not answer either
      // until the takeover.
      await ip(['-n', ns.dir1!, 'addr', 'add', hostAddrOf(vip), 'dev', 'eth0', ...(c.v6 ? ['nodad'] : [])]);
      await ip(['-n', ns.dir2!, 'addr', 'add', hostAddrOf(vip), 'dev', 'lo']);
      if (split) {
        await ip(['-n', ns.dir1!, 'addr', 'add', hostAddrOf(inside), 'dev', 'eth1', ...(c.v6 ? ['nodad'] : [])]);
        await ip(['-n', ns.dir2!, 'addr', 'add', hostAddrOf(inside), 'dev', 'lo']);
      }
      await topo.sysctl(ns.dir2!, 'net.ipv4.conf.all.arp_ignore', '1');
      const svc = `${bracket(vip)}:80`;
      const flag = { dr: '-g', nat: '-m', fullnat: '--fullnat' }[c.fwd];
      for (const d of ['dir1', 'dir2']) {
        await adm(d, ['-A', '-t', svc, '-s', 'rr', '-p', '300', ...(c.fwd === 'fullnat' ? ['--laddr', inside] : [])]);
        for (const rs of [11, 12]) await adm(d, ['-a', '-t', svc, '-r', `${bracket(c.b(rs))}:${rport}`, flag]);
      }
      // IPv6 conns travel over an IPv6 group (which has no default); IPv4 ones over the default.
      const group = c.v6 ? ['--mcast-group', SYNC_GROUP6] : [];
      await adm('dir1', ['--start-daemon', 'master', '--mcast-interface', 'eth0', '--syncid', '7', ...group]);
      await adm('dir2', ['--start-daemon', 'backup', '--mcast-interface', 'eth0', '--syncid', '7', ...group]);
    });
    after(() => topo.teardown());

    it('-L --daemon lists the running daemons', async () => {
      const line = c.v6
        ? `master sync daemon (mcast=eth0, syncid=7, maxlen=1452, group=${SYNC_GROUP6}, port=8848, ttl=1)\n`
        : 'master sync daemon (mcast=eth0, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n';
      assert.equal(await adm('dir1', ['-L', '--daemon']), line);
      const st = await status('dir2');
      assert.equal(st.sync.length, 1);
      assert.equal(st.sync[0]!.running, true, st.sync[0]!.error ?? '');
    });

    it(`${CONNS} connections and a 10 MB upload survive the master's death`, async () => {
      const client = topo.spawn(
        ns.client!,
        [process.execPath, '--import', 'tsx', fixture('sync-client.ts'), vip, '80', String(CONNS), String(UPLOAD)],
        {
          stdio: ['pipe', 'pipe', 'inherit'],
        },
      );
      await lineFrom(client, /^ready$/, 30_000);
      // Each conn is sent at its 3rd packet; a partly filled message leaves within 2 s.
      const deadline = Date.now() + 10_000;
      let backup = await status('dir2');
      while ((backup.sync[0]?.backup?.created ?? 0) < CONNS + 1 && Date.now() < deadline) {
        await sleep(250);
        backup = await status('dir2');
      }
      assert.ok((backup.sync[0]?.backup?.created ?? 0) >= CONNS + 1, `the backup has ${JSON.stringify(backup.sync)}`);

      // The master's host dies as in a power cut: off the network first, then its director
      // killed. (Were its kernel left up with the VIP, it would answer the segments still on
      // their way to it with resets once the director's nft table died with it: by design,
      // a dead director never blackholes a VIP, but here it would reset what the backup keeps.)
      const master = await status('dir1');
      for (const dev of split ? ['eth0', 'eth1'] : ['eth0']) await ip(['-n', ns.dir1!, 'link', 'set', dev, 'down']);
      process.kill(master.pid, 'SIGKILL');
      const mac = await topo.mac(ns.dir2!, 'eth0');
      await ip(['-n', ns.client!, 'neigh', 'replace', vip, 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent']);
      if (split) {
        const mac1 = await topo.mac(ns.dir2!, 'eth1');
        for (const rs of ['rs1', 'rs2'])
          await ip(['-n', ns[rs]!, 'neigh', 'replace', inside, 'lladdr', mac1, 'dev', 'eth0', 'nud', 'permanent']);
      }
      await checkTakeover(client, CONNS, UPLOAD);
    });
  });
}
