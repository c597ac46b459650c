// More of issue #14's VRRP behaviours against real keepalived, each where it matters in both
// roles: preempt_delay and nopreempt, vrrp_sync_group moving together, garp_master_repeat and
// garp_master_delay counted on the wire (tshark), `tsvs keepalived` reloaded (SIGHUP) while
// MASTER (no transition, no VIP flap, the VIP list applied as a difference, a bad file keeps
// running) and stopped (priority 0: keepalived takes over at once), unicast peers with tsvs as
// master, IPv6 with keepalived as master. Times asserted are lower bounds (a delay is never cut
// short) and generous waits, never speed targets.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Topology } from '../../src/lab/netns.js';
import { ensureBuilt, freshRunDir, requireNetns } from './harness.js';
import { conf, epochMs, hasVip, Keepalived, keepalivedMissing, type Opts, sleep, Tsvs, TsvsKeepalived, waitFor } from './vrrp-peers.js';

function tsharkMissing(): string | false {
  if (spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0) return false;
  if (process.env.CI === 'true') throw new Error('CI must run the GARP count test: tshark is not installed (apt-get install tshark)');
  return 'tshark is not installed';
}

const skip = requireNetns() || keepalivedMissing();
const V3 = { version: 3 as const, advertInt: 0.25 };
/** How long a held group is watched: ten of tsvs's link polls (LINK_POLL_MS) and keepalived's netlink events alike. */
const HOLD_MS = 1000;

describe('VRRP interop with keepalived: preempt_delay, sync groups, GARP counts, reload, shutdown', { skip }, () => {
  const topo = new Topology('tsvs-vrrp2');
  let A = ''; // keepalived's namespace
  let B = ''; // tsvs's namespace
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-vrrp2-'));
  let n = 0;
  const procs: { stop(s?: NodeJS.Signals): Promise<void> }[] = [];
  let macA = '';
  let macB = '';

  before(async () => {
    ensureBuilt();
    A = await topo.netns('ka');
    B = await topo.netns('ts');
    await topo.link({ ns: A, dev: 'v0' }, { ns: B, dev: 'v0' });
    await topo.addr(A, 'v0', '10.9.1.1/24');
    await topo.addr(B, 'v0', '10.9.1.2/24');
    await topo.addr(A, 'v0', 'fd00:91::1/64');
    await topo.addr(B, 'v0', 'fd00:91::2/64');
    for (const ns of [A, B]) {
      await topo.exec(ns, ['ip', 'link', 'add', 'trk0', 'type', 'veth', 'peer', 'name', 'trk1']);
      await topo.exec(ns, ['ip', 'link', 'set', 'trk1', 'up']);
      await topo.exec(ns, ['ip', 'link', 'set', 'trk0', 'up']);
      await topo.exec(ns, ['ip', 'link', 'add', 'trk2', 'type', 'veth', 'peer', 'name', 'trk3']);
      await topo.exec(ns, ['ip', 'link', 'set', 'trk3', 'up']);
      await topo.exec(ns, ['ip', 'link', 'set', 'trk2', 'up']);
    }
    macA = await topo.mac(A, 'v0');
    macB = await topo.mac(B, 'v0');
  });
  after(() => topo.teardown());

  const ka = (o: Opts, more: Opts[] = []) => {
    const k = new Keepalived(topo, A, dir, conf({ name: 'ka', ...o }, more));
    procs.push(k);
    return k;
  };
  const ts = async (o: Opts, more: Opts[] = []) => {
    const t = new Tsvs(topo, B, join(dir, `ts${n++}.conf`), conf({ name: 'ts', ...o }, more));
    procs.push(t);
    await t.ready();
    return t;
  };

  /** Runs `fn`, then stops every peer it started and removes what they left on the links. */
  async function scenario(fn: () => Promise<void>, logs: () => string): Promise<void> {
    try {
      await fn();
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${logs()}`);
    } finally {
      for (const p of procs.splice(0)) await p.stop('SIGKILL');
      for (const ns of [A, B]) {
        execFileSync('ip', ['-n', ns, 'addr', 'flush', 'dev', 'v0', 'secondary']);
        execFileSync('ip', ['-n', ns, '-6', 'addr', 'flush', 'dev', 'v0', 'scope', 'global']);
        execFileSync('ip', ['-n', ns, 'link', 'set', 'trk0', 'up']);
        execFileSync('ip', ['-n', ns, 'link', 'set', 'trk2', 'up']);
      }
      await topo.addr(A, 'v0', 'fd00:91::1/64').catch(() => undefined);
      await topo.addr(B, 'v0', 'fd00:91::2/64').catch(() => undefined);
    }
  }
  const tail = (what: string, s: string) => `--- ${what}:\n${s.slice(-2500)}`;

  it('preempt_delay: a higher-priority tsvs backup waits the delay before taking over from keepalived, and so does keepalived', async () => {
    const vip = '10.9.1.100/24';
    let k: Keepalived | null = null;
    let t: Tsvs | null = null;
    await scenario(
      async () => {
        // tsvs (150, preempt_delay 2) joins a group where keepalived (100) is master.
        k = ka({ ...V3, state: 'BACKUP', priority: 100, vip });
        await waitFor('keepalived MASTER', () => k!.state() === 'MASTER' && hasVip(A, vip), 8000);
        t = await ts({ ...V3, state: 'BACKUP', priority: 150, vip, extra: 'preempt_delay 2' });
        await waitFor('tsvs started', () => t!.lines.some((l) => l.started), 10_000);
        const startedAt = t.lines.find((l) => l.started)!.at!;
        await waitFor('tsvs BACKUP', () => t!.state() === 'BACKUP', 2000);
        await sleep(1200);
        assert.equal(t.state(), 'BACKUP', 'within preempt_delay, the lower-priority master stays');
        assert.equal(k.state(), 'MASTER');
        await waitFor('tsvs preempts after the delay', () => t!.state() === 'MASTER' && k!.state() === 'BACKUP' && hasVip(B, vip), 8000);
        const tookOver = t.transitions().find((l) => l.state === 'MASTER')!.at!;
        assert.ok(
          tookOver - startedAt >= 2000,
          `tsvs took over ${(tookOver - startedAt).toFixed(0)} ms after its start (< preempt_delay 2 s)`,
        );
        await k.stop('SIGKILL');
        await t.stop('SIGKILL');
        execFileSync('ip', ['-n', B, 'addr', 'flush', 'dev', 'v0', 'secondary']);

        // The reverse: keepalived (150, preempt_delay 2) joins where tsvs (100) is master.
        t = await ts({ ...V3, state: 'BACKUP', priority: 100, vip });
        await waitFor('tsvs MASTER', () => t!.state() === 'MASTER' && hasVip(B, vip), 10_000);
        const kStart = epochMs();
        k = ka({ ...V3, state: 'BACKUP', priority: 150, vip, extra: 'preempt_delay 2' });
        await waitFor('keepalived BACKUP', () => k!.state() === 'BACKUP', 3000);
        await waitFor('keepalived preempts after the delay', () => k!.state() === 'MASTER' && t!.state() === 'BACKUP', 8000);
        const kTook = epochMs() - kStart;
        assert.ok(kTook >= 2000, `keepalived took over ${kTook.toFixed(0)} ms after its start`);
        // keepalived's own delay and tsvs's agree on what preempt_delay means: neither cut it short.
      },
      () => `${tail('keepalived', k?.log ?? '')}\n${tail('tsvs', t?.err ?? '')}`,
    );
  });

  it('nopreempt on keepalived: a higher-priority keepalived does not take over from a tsvs master', async () => {
    const vip = '10.9.1.101/24';
    let k: Keepalived | null = null;
    let t: Tsvs | null = null;
    await scenario(
      async () => {
        t = await ts({ ...V3, state: 'BACKUP', priority: 100, vip });
        await waitFor('tsvs MASTER', () => t!.state() === 'MASTER' && hasVip(B, vip), 10_000);
        k = ka({ ...V3, state: 'BACKUP', priority: 150, vip, nopreempt: true });
        await waitFor('keepalived BACKUP', () => k!.state() === 'BACKUP', 3000);
        await sleep(2000); // > 3 × 0.25 s + skew, twice
        assert.equal(k.state(), 'BACKUP');
        assert.equal(t.state(), 'MASTER', 'tsvs stays master');
        assert.equal(t.transitions().filter((l) => l.state === 'BACKUP' && l.from === 'MASTER').length, 0);
        assert.ok(hasVip(B, vip) && !hasVip(A, vip));
        // tsvs stops (priority 0): the nopreempt backup takes over.
        await t.stop('SIGTERM');
        await waitFor('keepalived MASTER', () => k!.state() === 'MASTER' && hasVip(A, vip), 3000);
      },
      () => `${tail('keepalived', k?.log ?? '')}\n${tail('tsvs', t?.err ?? '')}`,
    );
  });

  it('vrrp_sync_group: one instance fault moves both, and the group leaves FAULT only when no member has one (tsvs, then keepalived)', async () => {
    const v1 = '10.9.1.110/24';
    const v2 = '10.9.1.111/24';
    const group = `vrrp_sync_group G {\n  group {\n    VI_1\n    VI_2\n  }\n}`;
    const pairOf = (state: 'BACKUP', priority: number, track: boolean): [Opts, Opts[]] => [
      { ...V3, state, priority, vip: v1, instance: 'VI_1', vrid: 51, top: group, extra: track ? 'track_interface {\n    trk2\n  }' : '' },
      [{ ...V3, state, priority, vip: v2, instance: 'VI_2', vrid: 52, extra: track ? 'track_interface {\n    trk0\n  }' : '' }],
    ];
    /** trk2 (VI_1's) down, trk0 (VI_2's) up: the group stays FAULT; trk2 up again; trk0 is put down again by the caller's next step. */
    const holdsFault = async (ns: string, inFault: () => boolean) => {
      await topo.exec(ns, ['ip', 'link', 'set', 'trk2', 'down']);
      await topo.exec(ns, ['ip', 'link', 'set', 'trk0', 'up']);
      const t0 = Date.now();
      while (Date.now() - t0 < HOLD_MS) {
        assert.ok(inFault(), `${ns}: the group left FAULT while VI_1's tracked interface trk2 was down`);
        await sleep(50);
      }
      await topo.exec(ns, ['ip', 'link', 'set', 'trk0', 'down']);
      await topo.exec(ns, ['ip', 'link', 'set', 'trk2', 'up']);
      await sleep(300);
      assert.ok(inFault(), `${ns}: the group left FAULT while VI_2's tracked interface trk0 was down`);
    };
    let k: Keepalived | null = null;
    let t: Tsvs | null = null;
    await scenario(
      async () => {
        t = await ts(...pairOf('BACKUP', 150, true));
        k = ka(...pairOf('BACKUP', 100, true));
        const both = (s: string, who: 'k' | 't') =>
          who === 'k' ? k!.state('VI_1') === s && k!.state('VI_2') === s : t!.state('VI_1') === s && t!.state('VI_2') === s;
        await waitFor('tsvs MASTER of both, keepalived BACKUP of both', () => both('MASTER', 't') && both('BACKUP', 'k'), 10_000);
        await topo.exec(B, ['ip', 'link', 'set', 'trk0', 'down']);
        await waitFor(
          'VI_2 fault moves VI_1: tsvs FAULT of both, keepalived MASTER of both',
          // The VIPs move after the transitions are logged (ip addr runs then).
          () => both('FAULT', 't') && both('MASTER', 'k') && !hasVip(B, v1) && !hasVip(B, v2) && hasVip(A, v1) && hasVip(A, v2),
          5000,
        );
        assert.match(t.transitions('VI_1').at(-1)!.why ?? '', /sync group G: VI_2 is FAULT/);
        // VI_1's own tracked interface goes down too; VI_2's comes back: VI_1 still holds the group.
        await holdsFault(B, () => both('FAULT', 't'));
        await topo.exec(B, ['ip', 'link', 'set', 'trk0', 'up']);
        await waitFor('tsvs MASTER of both again', () => both('MASTER', 't') && both('BACKUP', 'k'), 5000);
        // keepalived's group: its VI_2's tracked interface goes down; both its instances go FAULT.
        await t.stop('SIGKILL');
        execFileSync('ip', ['-n', B, 'addr', 'flush', 'dev', 'v0', 'secondary']);
        await k.stop('SIGKILL');
        t = await ts(...pairOf('BACKUP', 100, false));
        k = ka(...pairOf('BACKUP', 150, true));
        await waitFor('keepalived MASTER of both', () => both('MASTER', 'k') && both('BACKUP', 't'), 10_000);
        await topo.exec(A, ['ip', 'link', 'set', 'trk0', 'down']);
        await waitFor(
          'keepalived FAULT of both, tsvs MASTER of both, the VIPs moved',
          () => both('FAULT', 'k') && both('MASTER', 't') && hasVip(B, v1) && hasVip(B, v2) && !hasVip(A, v1) && !hasVip(A, v2),
          5000,
        );
        await holdsFault(A, () => both('FAULT', 'k'));
        await topo.exec(A, ['ip', 'link', 'set', 'trk0', 'up']);
        await waitFor('keepalived MASTER of both again', () => both('MASTER', 'k') && both('BACKUP', 't'), 5000);
      },
      () => `${tail('keepalived', k?.log ?? '')}\n${tail('tsvs', t?.err ?? '')}`,
    );
  });

  /** Each side's gratuitous ARPs (IPv4) or unsolicited NAs (IPv6) for the VIP, burst for burst, against keepalived's. */
  async function announcements(vip: string): Promise<void> {
    const v6 = vip.includes(':');
    const garp = 'garp_master_repeat 3\n  garp_master_delay 1';
    const fields = v6
      ? ['-f', 'icmp6', '-e', 'frame.time_epoch', '-e', 'eth.src', '-e', 'icmpv6.nd.na.target_address', '-e', 'icmpv6.type']
      : [
          '-f',
          'arp',
          '-e',
          'frame.time_epoch',
          '-e',
          'eth.src',
          '-e',
          'arp.src.proto_ipv4',
          '-e',
          'arp.dst.proto_ipv4',
          '-e',
          'arp.opcode',
        ];
    const inst = v6 ? { advertInt: 0.25 } : V3;
    let k: Keepalived | null = null;
    let t: Tsvs | null = null;
    let cap: ChildProcess | null = null;
    let out = '';
    await scenario(
      async () => {
        // Every announcement on the link, from either side, for a bounded time.
        cap = spawn('ip', ['netns', 'exec', A, 'tshark', '-l', '-n', '-i', 'v0', '-a', 'duration:14', '-T', 'fields', ...fields], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        cap.stdout!.on('data', (b: Buffer) => (out += b.toString()));
        let capErr = '';
        cap.stderr!.on('data', (b: Buffer) => (capErr += b.toString()));
        await waitFor('tshark capturing', () => /Capturing on/.test(capErr), 10_000);
        k = ka({ ...inst, state: 'BACKUP', priority: 150, vip, extra: garp });
        t = await ts({ ...inst, state: 'BACKUP', priority: 100, vip, extra: garp });
        await waitFor('keepalived MASTER, tsvs BACKUP', () => k!.state() === 'MASTER' && t!.state() === 'BACKUP', 10_000);
        await sleep(1800); // keepalived's second burst
        await k.stop('SIGTERM');
        await waitFor('tsvs MASTER', () => t!.state() === 'MASTER' && hasVip(B, vip), 3000);
        await sleep(1800); // tsvs's second burst
        await new Promise((r) => (cap!.exitCode !== null ? r(null) : cap!.once('exit', r)));
      },
      () => `${tail('tshark', out)}\n${tail('keepalived', k?.log ?? '')}\n${tail('tsvs', t?.err ?? '')}`,
    );
    const addr = vip.split('/')[0]!;
    const sent = out
      .trim()
      .split('\n')
      .map((l) => l.split('\t'))
      .filter((f) => (v6 ? f[2] === addr && f[3] === '136' : f[2] === addr && f[3] === addr && f[4] === '1'));
    const from = (mac: string) => sent.filter((f) => f[1] === mac).map((f) => Number(f[0]) * 1000);
    const bursts = (times: number[]) => {
      const b: number[][] = [];
      for (const x of times) {
        const last = b.at(-1);
        if (last && x - last.at(-1)! < 500) last.push(x);
        else b.push([x]);
      }
      return b;
    };
    const kb = bursts(from(macA));
    const tb = bursts(from(macB));
    const shape = (b: number[][]) => b.map((x) => x.length);
    assert.deepEqual(shape(kb), [3, 3], `keepalived's announcements per burst (the reference): ${JSON.stringify(sent)}`);
    assert.deepEqual(shape(tb), shape(kb), `tsvs's announcements per burst, as keepalived's: ${JSON.stringify(sent)}`);
    const gap = tb[1]![0]! - tb[0]![0]!;
    assert.ok(gap >= 950, `tsvs's second burst came ${gap.toFixed(0)} ms after the first (garp_master_delay 1)`);
  }

  it(
    'garp_master_repeat 3 and garp_master_delay 1: tsvs sends the gratuitous ARPs keepalived sends, burst for burst (tshark)',
    { skip: tsharkMissing() },
    () => announcements('10.9.1.120/24'),
  );

  it('the same for an IPv6 VIP: unsolicited neighbour advertisements, burst for burst (tshark)', { skip: tsharkMissing() }, () =>
    announcements('fd00:91::120/64'),
  );

  it('tsvs keepalived reloaded while MASTER: no transition, no VIP flap, the VIP list applied as a difference; a bad file keeps running; SIGTERM hands over at once', async () => {
    const keep = '10.9.1.130/24';
    const drop = '10.9.1.131/24';
    const add = '10.9.1.132/24';
    const runDir = freshRunDir();
    let k: Keepalived | null = null;
    let t: TsvsKeepalived | null = null;
    let mon: ChildProcess | null = null;
    let events = '';
    await scenario(
      async () => {
        // advert_int 1: keepalived drops an advert whose VIP list differs from its own, so the
        // two reloads, sent together, must land within its down interval (3 × 1 s + skew).
        const base = { version: 3 as const, advertInt: 1, state: 'BACKUP' as const };
        k = ka({ ...base, priority: 100, vip: `${keep} ${drop}` });
        const file = join(dir, 'tk.conf');
        t = new TsvsKeepalived(topo, B, file, conf({ name: 'ts', ...base, priority: 150, vip: `${keep} ${drop}` }), {
          TSVS_RUN_DIR: runDir,
        });
        procs.push(t);
        await t.ready();
        await waitFor(
          'tsvs keepalived MASTER with both VIPs',
          () => t!.state() === 'MASTER' && hasVip(B, keep) && hasVip(B, drop) && k!.state() === 'BACKUP',
          15_000,
        );
        await sleep(500);
        mon = spawn('ip', ['-n', B, 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
        mon.stdout!.on('data', (b: Buffer) => (events += b.toString()));
        await sleep(200);
        const kMasters = k.entered('MASTER');
        // The new file: one VIP stays, one goes, one comes; the rest unchanged.
        writeFileSync(file, conf({ name: 'ts', ...base, priority: 150, vip: `${keep} ${add}` }));
        t.proc.kill('SIGHUP');
        k.reload(conf({ name: 'ka', ...base, priority: 100, vip: `${keep} ${add}` }));
        await waitFor('the new VIP on, the dropped one off', () => hasVip(B, add) && !hasVip(B, drop), 5000);
        await waitFor('the reload logged', () => /reloaded /.test(t!.log), 5000);
        await sleep(1000);
        assert.equal(t.entered('MASTER'), 1, 'no transition of tsvs');
        assert.equal(t.entered('BACKUP'), 1, 'no transition of tsvs (only the start)');
        assert.equal(k.entered('MASTER'), kMasters, 'keepalived never took over');
        assert.ok(hasVip(B, keep), 'the kept VIP is on');
        const keepIp = keep.split('/')[0]!;
        assert.ok(
          !events.split('\n').some((l) => l.startsWith('Deleted') && l.includes(` ${keepIp}/`)),
          `the kept VIP never left the interface:\n${events}`,
        );
        assert.match(events, new RegExp(`Deleted .* ${drop.split('/')[0]!.replace(/\./g, '\\.')}/`));

        // A file that does not parse: refused, the running configuration stays.
        writeFileSync(file, 'vrrp_instance VI {\n  state BACKUP\n  interface v0\n  virtual_router_id 999\n');
        t.proc.kill('SIGHUP');
        await waitFor('the refusal logged', () => /reload refused, the running configuration stays/.test(t!.log), 5000);
        await sleep(1000);
        assert.equal(t.state(), 'MASTER');
        assert.equal(t.entered('MASTER'), 1);
        assert.ok(hasVip(B, keep) && hasVip(B, add));
        assert.equal(k.state(), 'BACKUP');

        // SIGTERM: priority 0, keepalived takes over at once (skew time, not the down interval).
        await t.stop('SIGTERM');
        assert.ok(!hasVip(B, keep) && !hasVip(B, add), 'VIPs removed at shutdown');
        await waitFor('keepalived MASTER', () => k!.state() === 'MASTER' && hasVip(A, keep), 3000);
        assert.match(k.log, /Backup received priority 0 advertisement/);
      },
      () => `${tail('keepalived', k?.log ?? '')}\n${tail('tsvs keepalived', t?.log ?? '')}\n${tail('ip monitor', events)}`,
    );
    (mon as ChildProcess | null)?.kill('SIGKILL');
  });

  it('unicast peers with tsvs as master; IPv6 v3 with keepalived as master: killed, the other takes over on its down timer', async () => {
    let k: Keepalived | null = null;
    let t: Tsvs | null = null;
    await scenario(
      async () => {
        const vip = '10.9.1.140/24';
        t = await ts({ ...V3, state: 'BACKUP', priority: 150, vip, unicast: { src: '10.9.1.2', peer: '10.9.1.1' } });
        k = ka({ ...V3, state: 'BACKUP', priority: 100, vip, unicast: { src: '10.9.1.1', peer: '10.9.1.2' } });
        await waitFor('tsvs MASTER, keepalived BACKUP', () => t!.state() === 'MASTER' && k!.state() === 'BACKUP' && hasVip(B, vip), 10_000);
        await sleep(1500);
        assert.equal(k.state(), 'BACKUP', 'keepalived hears tsvs’s unicast adverts');
        await t.stop('SIGKILL');
        await waitFor('keepalived MASTER', () => k!.state() === 'MASTER' && hasVip(A, vip), 4000);
        await k.stop('SIGKILL');
        execFileSync('ip', ['-n', A, 'addr', 'flush', 'dev', 'v0', 'secondary']);
        execFileSync('ip', ['-n', B, 'addr', 'flush', 'dev', 'v0', 'secondary']);

        const vip6 = 'fd00:91::140/64';
        k = ka({ advertInt: 0.25, state: 'BACKUP', priority: 150, vip: vip6 });
        t = await ts({ advertInt: 0.25, state: 'BACKUP', priority: 100, vip: vip6 });
        await waitFor(
          'keepalived MASTER, tsvs BACKUP',
          () => k!.state() === 'MASTER' && t!.state() === 'BACKUP' && hasVip(A, vip6),
          10_000,
        );
        await waitFor('tsvs knows the master by its link-local address', () => /^fe80:/.test(t!.last()?.masterAddr ?? ''), 3000);
        await sleep(1500);
        assert.equal(t.state(), 'BACKUP', 'tsvs hears keepalived’s IPv6 adverts');
        const killedAt = epochMs();
        await k.stop('SIGKILL'); // its VRRP process first: no priority 0
        await waitFor('tsvs MASTER', () => t!.state() === 'MASTER' && hasVip(B, vip6), 4000);
        const tr = t.transitions().at(-1)!;
        assert.match(tr.why ?? '', /no advert from the master within the down interval/);
        // Its down timer ran (3 × 0.25 s + skew from the last advert heard), not a priority 0's
        // skew time (0.15 s): keepalived sent none, and the takeover came later than 2 intervals
        // (a loaded keepalived's last adverts can come late, so not the full down interval).
        assert.doesNotMatch(k.log, /sent 0 priority/);
        assert.ok(tr.at! - killedAt >= 2 * 250, `took over ${(tr.at! - killedAt).toFixed(0)} ms after the kill`);
      },
      () => `${tail('keepalived', k?.log ?? '')}\n${tail('tsvs', t?.err ?? '')}`,
    );
  });

  /** keepalived (the higher priority while its tracked script succeeds) yields to tsvs while the script fails, and takes back. */
  async function keepalivedTracks(flag: string, k: Keepalived, t: Tsvs): Promise<void> {
    await waitFor('keepalived MASTER', () => k.state() === 'MASTER' && t.state() === 'BACKUP', 10_000);
    rmSync(flag);
    await waitFor('keepalived yields to tsvs', () => t.state() === 'MASTER' && k.state() === 'BACKUP', 10_000);
    writeFileSync(flag, '');
    await waitFor('keepalived MASTER again', () => k.state() === 'MASTER' && t.state() === 'BACKUP', 10_000);
  }

  it('track_script with a positive weight: added while the script succeeds, in tsvs and in keepalived alike', async () => {
    const vip = '10.9.1.160/24';
    const flag = join(dir, 'healthy-plus');
    writeFileSync(flag, '');
    const top = `vrrp_script plus {\n  script "/usr/bin/test -e ${flag}"\n  interval 1\n  weight 60\n}`;
    const extra = 'track_script {\n    plus\n  }';
    let k: Keepalived | null = null;
    let t: Tsvs | null = null;
    await scenario(
      async () => {
        // tsvs 100 + 60 while the script succeeds beats keepalived's 150; without it, it yields.
        t = await ts({ ...V3, state: 'BACKUP', priority: 100, vip, head: top, extra });
        k = ka({ ...V3, state: 'BACKUP', priority: 150, vip });
        await waitFor(
          'tsvs MASTER at 160',
          () => t!.state() === 'MASTER' && k!.state() === 'BACKUP' && t!.last()?.effectivePriority === 160,
          10_000,
        );
        rmSync(flag);
        await waitFor(
          'tsvs BACKUP at 100',
          () => t!.state() === 'BACKUP' && k!.state() === 'MASTER' && t!.last()?.effectivePriority === 100,
          6000,
        );
        writeFileSync(flag, '');
        await waitFor('tsvs MASTER again', () => t!.state() === 'MASTER' && k!.state() === 'BACKUP', 6000);
        await t.stop('SIGKILL');
        await k.stop('SIGKILL');
        execFileSync('ip', ['-n', A, 'addr', 'flush', 'dev', 'v0', 'secondary']);
        execFileSync('ip', ['-n', B, 'addr', 'flush', 'dev', 'v0', 'secondary']);
        // The same roles swapped: keepalived 100 + 60 against tsvs 150.
        k = ka({ ...V3, state: 'BACKUP', priority: 100, vip, head: top, extra });
        t = await ts({ ...V3, state: 'BACKUP', priority: 150, vip });
        await keepalivedTracks(flag, k, t);
      },
      () => `${tail('keepalived', k?.log ?? '')}\n${tail('tsvs', t?.err ?? '')}`,
    );
  });

  it('track_script with fall 3 and rise 2: the priority drops only after 3 failures, in tsvs and in keepalived alike', async () => {
    const vip = '10.9.1.150/24';
    const flag = join(dir, 'healthy-fr');
    writeFileSync(flag, '');
    const top = `vrrp_script chk {\n  script "/usr/bin/test -e ${flag}"\n  interval 0.2\n  weight -100\n  fall 3\n  rise 2\n}`;
    const extra = 'track_script {\n    chk\n  }';
    let k: Keepalived | null = null;
    let t: Tsvs | null = null;
    await scenario(
      async () => {
        // tsvs tracks: 150 → 50 after three failed runs, keepalived (100) preempts; back after two good ones.
        t = await ts({ ...V3, state: 'BACKUP', priority: 150, vip, top, extra });
        k = ka({ ...V3, state: 'BACKUP', priority: 100, vip });
        await waitFor('tsvs MASTER', () => t!.state() === 'MASTER' && k!.state() === 'BACKUP', 10_000);
        const failedAt = epochMs();
        rmSync(flag);
        await waitFor(
          'tsvs BACKUP at priority 50',
          () => t!.state() === 'BACKUP' && k!.state() === 'MASTER' && t!.last()?.effectivePriority === 50,
          6000,
        );
        const down = t.transitions().at(-1)!.at!;
        // The first failing run may come at once; the third is two intervals after it at the earliest.
        assert.ok(
          down - failedAt >= 2 * 200 - 20,
          `priority dropped ${(down - failedAt).toFixed(0)} ms after the script began failing (fall 3)`,
        );
        writeFileSync(flag, '');
        await waitFor('tsvs MASTER again (rise 2)', () => t!.state() === 'MASTER' && k!.state() === 'BACKUP', 6000);
        await t.stop('SIGKILL');
        await k.stop('SIGKILL');
        execFileSync('ip', ['-n', A, 'addr', 'flush', 'dev', 'v0', 'secondary']);
        execFileSync('ip', ['-n', B, 'addr', 'flush', 'dev', 'v0', 'secondary']);
        // keepalived tracks the same script, tsvs (100) is the peer.
        // keepalived 2.2.7 takes whole seconds for a script's interval, and the vrrp_script first.
        k = ka({ ...V3, state: 'BACKUP', priority: 150, vip, head: top.replace('interval 0.2', 'interval 1'), extra });
        t = await ts({ ...V3, state: 'BACKUP', priority: 100, vip });
        await keepalivedTracks(flag, k, t);
      },
      () => `${tail('keepalived', k?.log ?? '')}\n${tail('tsvs', t?.err ?? '')}`,
    );
  });
});
