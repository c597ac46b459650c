// The packet engine's nftables table with its matches in sets (nft.ts, NFT_SET_MIN): the kernel
// takes the script renderNft writes for many services and NAT dests, and a frame to one
// service's address and port is dropped at ingress and counted on that service's element, while
// a port that no service has passes. A director restoring 100 services x 10 NAT dests in one
// `-R` rewrites its table in at most two transactions, not one per line. Everything stays in
// namespaces this test creates.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NFT_SET_MIN, renderNft, type IngressMatch } from '../../src/engine/packet/nft.js';
import { Topology } from '../../src/lab/netns.js';
import { ensureBuilt, freshRunDir, inNs, requireNetns, TSVS, TSVSADM } from './harness.js';

const skip = requireNetns();
const DIR_IP = '10.77.0.1';
const PEER_IP = '10.77.0.2';
const SERVICES = NFT_SET_MIN + 3;
const FIRST_PORT = 9001;

describe('nftables sets for many services', { skip }, () => {
  const topo = new Topology();
  let dir = '';
  let peer = '';

  before(async () => {
    dir = await topo.netns('dir');
    peer = await topo.netns('peer');
    await topo.link({ ns: dir, dev: 'd0' }, { ns: peer, dev: 'p0' });
    await topo.addr(dir, 'd0', `${DIR_IP}/24`);
    await topo.addr(peer, 'p0', `${PEER_IP}/24`);
  });

  after(async () => {
    await topo.teardown();
  });

  it('installs, drops what a service takes and counts it on its element, and passes the rest', async () => {
    const matches: IngressMatch[] = [];
    for (let i = 0; i < SERVICES; i++) matches.push({ family: 'ip', proto: 'udp', daddr: DIR_IP, dport: FIRST_PORT + i });
    for (let i = 0; i < SERVICES; i++) {
      matches.push({ family: 'ip', proto: 'udp', saddr: `10.77.1.${i + 1}`, sport: 8080, notDaddr: [DIR_IP] });
    }
    // Without `flags owner`, which would take the table away with the nft process that made it;
    // the namespace takes it away at the end instead.
    const script = renderNft({ devices: new Map([['d0', matches]]) })
      .split('\n')
      .filter((l) => !l.includes('flags owner') && !l.startsWith('delete table'))
      .join('\n');
    assert.match(script, /set m0 \{/);
    const put = await inNs(dir, ['nft', '-f', '-'], { input: script });
    assert.equal(put.code, 0, `${put.stderr}\n${script}`);

    // A listener on every port: what the ingress hook lets through is counted here.
    const listener = [
      'const d = require("node:dgram"); let n = 0;',
      `for (let p = ${FIRST_PORT}; p <= ${FIRST_PORT + SERVICES}; p++) d.createSocket("udp4").on("message", () => n++).bind(p, "${DIR_IP}");`,
      'setTimeout(() => { console.log(n); process.exit(0); }, 1500);',
    ].join('');
    const got = inNs(dir, [process.execPath, '-e', listener], { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    const taken = FIRST_PORT + 2;
    const free = FIRST_PORT + SERVICES; // no service has it
    const sender = [
      'const s = require("node:dgram").createSocket("udp4");',
      `const send = (p) => new Promise((r) => s.send("x", p, "${DIR_IP}", r));`,
      `(async () => { for (let i = 0; i < 3; i++) { await send(${taken}); await send(${free}); } s.close(); })();`,
    ].join('');
    const sent = await inNs(peer, [process.execPath, '-e', sender]);
    assert.equal(sent.code, 0, sent.stderr);
    const arrived = await got;
    assert.equal(arrived.stdout.trim(), '3', 'only the free port’s three datagrams reach the stack');

    const list = await inNs(dir, ['nft', 'list', 'table', 'netdev', 'tsvs']);
    assert.match(list.stdout, new RegExp(`${DIR_IP.replace(/\./g, '\\.')} \\. ${taken} counter packets 3 `), list.stdout);
    assert.match(list.stdout, new RegExp(`${DIR_IP.replace(/\./g, '\\.')} \\. ${FIRST_PORT} counter packets 0 `), list.stdout);
    assert.match(list.stdout, /ip saddr \. udp sport @m1 ip daddr != 10\.77\.0\.1 counter/, list.stdout);
  });
});

describe('the packet engine restores many rules in few nftables transactions', { skip }, () => {
  const topo = new Topology();
  let dir = '';
  const env = { TSVS_RUN_DIR: freshRunDir(), TSVS_ENGINE: 'packet' };
  const SVCS = 100;
  const DESTS = 10;

  before(async () => {
    ensureBuilt();
    dir = await topo.netns('dir');
    const peer = await topo.netns('peer');
    await topo.link({ ns: dir, dev: 'd0' }, { ns: peer, dev: 'p0' });
    await topo.addr(dir, 'd0', `${DIR_IP}/24`);
  });

  after(async () => {
    await inNs(dir, [process.execPath, TSVS, 'daemon', 'stop'], { env });
    await topo.teardown();
  });

  it(`-R of ${SVCS} services x ${DESTS} dests: at most two transactions, the matches in sets`, async () => {
    const adm = (argv: string[], input?: string) => inNs(dir, [process.execPath, TSVSADM, ...argv], { env, input, timeoutMs: 60_000 });
    assert.equal((await adm(['-A', '-u', `${DIR_IP}:53`, '-s', 'rr'])).code, 0);
    const transactions = async () => {
      const st = await inNs(dir, [process.execPath, TSVS, 'status', '--json'], { env });
      return (JSON.parse(st.stdout) as { counters: { nft_transactions: number } }).counters.nft_transactions;
    };
    const before0 = await transactions();
    const lines: string[] = [];
    for (let i = 0; i < SVCS; i++) {
      lines.push(`-A -t 10.78.0.${i + 1}:80 -s wlc`);
      for (let j = 0; j < DESTS; j++) lines.push(`-a -t 10.78.0.${i + 1}:80 -r 10.79.${i}.${j + 1}:8080 -m`);
    }
    const r = await adm(['-R'], `${lines.join('\n')}\n`);
    assert.equal(r.code, 0, r.stderr);
    const spent = (await transactions()) - before0;
    assert.ok(spent >= 1 && spent <= 2, `${spent} transactions for one -R`);
    const list = await inNs(dir, ['nft', 'list', 'table', 'netdev', 'tsvs']);
    assert.equal((list.stdout.match(/ \. 80 counter/g) ?? []).length, SVCS, 'one element per service');
    assert.equal((list.stdout.match(/ \. 8080 counter/g) ?? []).length, SVCS * DESTS, 'one element per NAT dest');
  });
});
