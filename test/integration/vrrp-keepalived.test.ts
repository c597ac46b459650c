// tsvs's VRRP and real keepalived (Debian's package) in one group, on a veth link between two
// namespaces: tsvs master + keepalived backup and the reverse, election by priority,
// preemption, nopreempt, priority 0 on shutdown, PASS auth (v2), v3 with advert_int 0.25, IPv6 v3,
// unicast peers. keepalived runs with its own config and pid files in a temp dir.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Topology } from '../../src/lab/netns.js';
import { requireNetns } from './harness.js';
import { conf, epochMs, hasVip as hasVipOn, Keepalived, keepalivedMissing, type Opts, sleep, Tsvs, waitFor } from './vrrp-peers.js';

const skip = requireNetns() || keepalivedMissing();

describe('VRRP interop with keepalived', { skip }, () => {
  const topo = new Topology('tsvs-vrrp');
  let A = ''; // keepalived's namespace
  let B = ''; // tsvs's namespace
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-vrrp-'));
  let n = 0;

  before(async () => {
    A = await topo.netns('ka');
    B = await topo.netns('ts');
    await topo.link({ ns: A, dev: 'v0' }, { ns: B, dev: 'v0' });
    await topo.addr(A, 'v0', '10.9.0.1/24');
    await topo.addr(B, 'v0', '10.9.0.2/24');
    await topo.addr(A, 'v0', 'fd00:9::1/64');
    await topo.addr(B, 'v0', 'fd00:9::2/64');
    // keepalived's side learns from gratuitous ARP (so the test can see tsvs's).
    await topo.sysctl(A, 'net.ipv4.conf.v0.arp_accept', '1');
    await topo.exec(B, ['ip', 'link', 'add', 'trk0', 'type', 'veth', 'peer', 'name', 'trk1']);
    await topo.exec(B, ['ip', 'link', 'set', 'trk1', 'up']);
    await topo.exec(B, ['ip', 'link', 'set', 'trk0', 'up']);
  });
  after(() => topo.teardown());

  const hasVip = hasVipOn;

  /** Runs `fn` with both started, stopping both whatever happens. */
  /** `kaFirst`: tsvs starts only once keepalived is MASTER. */
  async function pair(ka: Opts, ts: Opts, fn: (k: Keepalived, t: Tsvs) => Promise<void>, kaFirst = false): Promise<void> {
    const k = new Keepalived(topo, A, dir, conf({ name: 'ka', ...ka }));
    let t: Tsvs | null = null;
    try {
      if (kaFirst) await waitFor('keepalived MASTER', () => k.state() === 'MASTER', 8000);
      t = new Tsvs(topo, B, join(dir, `ts${n++}.conf`), conf({ name: 'ts', ...ts }));
      await t.ready();
      await fn(k, t);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- keepalived:\n${k.log.slice(-3000)}\n--- tsvs:\n${t?.err.slice(-3000) ?? ''}`);
    } finally {
      await t?.stop('SIGKILL');
      await k.stop('SIGKILL');
      execFileSync('ip', ['-n', A, 'addr', 'flush', 'dev', 'v0', 'secondary']);
      execFileSync('ip', ['-n', B, 'addr', 'flush', 'dev', 'v0', 'secondary']);
    }
  }

  it('v2 PASS: tsvs (150) wins over keepalived (100); its priority 0 on shutdown hands over at once', async () => {
    const vip = '10.9.0.100/24';
    await pair(
      { state: 'BACKUP', priority: 100, vip, pass: 's3cret' },
      { state: 'BACKUP', priority: 150, vip, pass: 's3cret' },
      async (k, t) => {
        await waitFor(
          'tsvs MASTER with the VIP, keepalived BACKUP without it',
          () => t.state() === 'MASTER' && hasVip(B, vip) && !hasVip(A, vip) && k.state() === 'BACKUP',
          8000,
        );
        await sleep(1500);
        assert.equal(k.state(), 'BACKUP', 'keepalived stays backup: it accepts our adverts (checksum, PASS)');
        await t.stop('SIGTERM');
        assert.ok(!hasVip(B, vip), 'VIP removed on shutdown');
        await waitFor('keepalived MASTER', () => k.state() === 'MASTER' && hasVip(A, vip), 3000);
        // keepalived's own word that it took over on our priority 0 (skew time), not on its
        // down timer (3 × 1 s + skew): no wall-clock bound measured from this loaded process.
        assert.match(k.log, /Backup received priority 0 advertisement/);
      },
    );
  });

  it('v2 PASS: keepalived (150) master, tsvs (100) backup follows it and takes over on its shutdown', async () => {
    const vip = '10.9.0.101/24';
    await pair({ state: 'MASTER', priority: 150, vip, pass: 'pw' }, { state: 'BACKUP', priority: 100, vip, pass: 'pw' }, async (k, t) => {
      await waitFor('keepalived MASTER', () => k.state() === 'MASTER' && hasVip(A, vip), 8000);
      await waitFor('tsvs BACKUP knowing the master', () => t.state() === 'BACKUP' && t.last()?.masterAddr === '10.9.0.1', 8000);
      await sleep(4500); // more than tsvs's down interval: it must be hearing the adverts
      assert.equal(t.state(), 'BACKUP');
      assert.ok(!hasVip(B, vip));
      const t0 = epochMs();
      await k.stop('SIGTERM');
      await waitFor('tsvs MASTER with the VIP', () => t.state() === 'MASTER' && hasVip(B, vip), 5000);
      // Measured on tsvs's own clock (its transition), not by this process's polling: the
      // priority 0 advert gives skew time (0.61 s); a missed one the down interval (3.61 s).
      const took = t.transitions().at(-1)!.at! - t0;
      assert.ok(took < 3000, `takeover ${took.toFixed(0)} ms after keepalived's SIGTERM: priority 0 not acted on`);
    });
  });

  it('v2: a wrong password is not a master (auth mismatch dropped), so both claim the VIP', async () => {
    const vip = '10.9.0.102/24';
    await pair(
      { state: 'MASTER', priority: 150, vip, pass: 'right' },
      { state: 'BACKUP', priority: 100, vip, pass: 'wrong' },
      async (k, t) => {
        await waitFor('keepalived MASTER', () => k.state() === 'MASTER', 8000);
        await waitFor('tsvs MASTER too (it ignores adverts it cannot authenticate)', () => t.state() === 'MASTER', 8000);
        await waitFor('the adverts counted as auth_mismatch', () => (t.last()?.drops?.auth_mismatch ?? 0) > 0, 2000);
        // tsvs is MASTER once it sent its first advert; keepalived logs the refusal when it reads it.
        await waitFor('keepalived refuses ours too (invalid passwd)', () => /invalid passwd/.test(k.log), 3000);
      },
    );
  });

  it('v3 advert_int 0.25: preemption by the higher priority, nopreempt keeps the lower master', async () => {
    const vip = '10.9.0.103/24';
    const base = { version: 3 as const, advertInt: 0.25, vip };
    await pair({ ...base, state: 'BACKUP', priority: 100 }, { ...base, state: 'BACKUP', priority: 150 }, async (k, t) => {
      await waitFor(
        'tsvs preempts keepalived',
        () => t.state() === 'MASTER' && k.state() === 'BACKUP' && hasVip(B, vip) && !hasVip(A, vip),
        8000,
      );
    });
    // tsvs starts once keepalived is master: started together, the faster of the two to reach
    // its down timer would win, and that depends on how loaded the machine is.
    await pair(
      { ...base, state: 'BACKUP', priority: 100 },
      { ...base, state: 'BACKUP', priority: 150, nopreempt: true },
      async (k, t) => {
        assert.equal(k.state(), 'MASTER');
        await waitFor('tsvs started', () => t.lines.some((l) => l.started), 8000);
        await sleep(2000); // > 3 × 0.25 s + skew several times over
        assert.equal(t.state(), 'BACKUP', 'nopreempt: a higher priority does not take over');
        assert.equal(t.last()?.masterAddr, '10.9.0.1');
        assert.equal(k.state(), 'MASTER');
      },
      true,
    );
  });

  it('v3 advert_int 0.25: keepalived preempts tsvs; killed (no priority 0), tsvs takes over on its down timer', async () => {
    const vip = '10.9.0.104/24';
    const base = { version: 3 as const, advertInt: 0.25, vip };
    await pair({ ...base, state: 'BACKUP', priority: 200 }, { ...base, state: 'MASTER', priority: 100 }, async (k, t) => {
      await waitFor(
        'keepalived MASTER, tsvs BACKUP',
        () => k.state() === 'MASTER' && t.state() === 'BACKUP' && hasVip(A, vip) && !hasVip(B, vip),
        8000,
      );
      await sleep(1000);
      const t0 = epochMs();
      await k.stop('SIGKILL'); // its VRRP process first: a crash, no priority 0
      await waitFor('tsvs MASTER', () => t.state() === 'MASTER' && hasVip(B, vip), 5000);
      // tsvs's down timer decided it (3 × 0.25 s + skew from the last advert heard), not a
      // priority 0's skew time (0.15 s): keepalived sent none, and the takeover, on tsvs's own
      // clock, came later than 2 intervals after the kill (a loaded keepalived's last adverts
      // can come late, so not the full down interval). The failover figure is the bench's.
      const tr = t.transitions().at(-1)!;
      assert.match(tr.why ?? '', /no advert from the master within the down interval/);
      assert.doesNotMatch(k.log, /sent 0 priority/);
      assert.ok(tr.at! - t0 >= 2 * 250, `takeover ${(tr.at! - t0).toFixed(0)} ms after the kill`);
    });
  });

  it('IPv6 v3: tsvs (150) master over keepalived (100); keepalived takes over on tsvs shutdown', async () => {
    const vip = 'fd00:9::100/64';
    const base = { advertInt: 0.25, vip };
    await pair({ ...base, state: 'BACKUP', priority: 100 }, { ...base, state: 'BACKUP', priority: 150 }, async (k, t) => {
      await waitFor(
        'tsvs MASTER, keepalived BACKUP',
        () => t.state() === 'MASTER' && k.state() === 'BACKUP' && hasVip(B, vip) && !hasVip(A, vip),
        8000,
      );
      await sleep(1000);
      assert.equal(k.state(), 'BACKUP');
      await t.stop('SIGTERM');
      await waitFor('keepalived MASTER', () => k.state() === 'MASTER' && hasVip(A, vip), 2000);
    });
  });

  it('unicast peers (v3, 0.25 s): keepalived master, tsvs backup; tsvs takes over when it is killed', async () => {
    const vip = '10.9.0.105/24';
    const base = { version: 3 as const, advertInt: 0.25, vip };
    await pair(
      { ...base, state: 'MASTER', priority: 150, unicast: { src: '10.9.0.1', peer: '10.9.0.2' } },
      { ...base, state: 'BACKUP', priority: 100, unicast: { src: '10.9.0.2', peer: '10.9.0.1' } },
      async (k, t) => {
        await waitFor(
          'keepalived MASTER, tsvs BACKUP',
          () => k.state() === 'MASTER' && t.state() === 'BACKUP' && t.lines.some((l) => l.started),
          8000,
        );
        await sleep(1500);
        assert.equal(t.state(), 'BACKUP', 'tsvs hears the unicast adverts');
        assert.equal(t.last()?.masterAddr, '10.9.0.1');
        await k.stop('SIGKILL');
        await waitFor('tsvs MASTER', () => t.state() === 'MASTER' && hasVip(B, vip), 3000);
      },
    );
  });

  it('track_script (weight), track_interface (FAULT), notify scripts and GARP, with keepalived as the peer', async () => {
    const vip = '10.9.0.106/24';
    const flag = join(dir, 'healthy');
    const notes = join(dir, 'notes');
    const note = join(dir, 'note.sh');
    writeFileSync(flag, '');
    writeFileSync(notes, '');
    writeFileSync(note, `#!/bin/sh\necho "$*" >> ${notes}\n`, { mode: 0o755 });
    const base = { version: 3 as const, advertInt: 0.25, vip };
    const top = `vrrp_script chk {\n  script "/usr/bin/test -e ${flag}"\n  interval 0.2\n  weight -100\n  fall 1\n  rise 1\n}`;
    const extra = `track_script {\n    chk\n  }\n  track_interface {\n    trk0\n  }\n  notify_master "${note} master"\n  notify_backup "${note} backup"\n  notify_fault "${note} fault"\n  notify ${note}`;
    const notesText = () => readFileSync(notes, 'utf8');
    // A second GARP burst 1 s after becoming master: the first may reach keepalived's side while
    // it still holds the VIP (it yields on our advert, sent before the GARPs), and is then ignored.
    await pair(
      { ...base, state: 'BACKUP', priority: 100 },
      { ...base, state: 'BACKUP', priority: 150, top, extra, garpDelay: 1 },
      async (k, t) => {
        await waitFor('tsvs MASTER', () => t.state() === 'MASTER' && k.state() === 'BACKUP' && hasVip(B, vip), 8000);
        await waitFor(
          'notify_master and notify ran',
          () => /^master$/m.test(notesText()) && /^INSTANCE VI MASTER 150$/m.test(notesText()),
          2000,
        );
        const bMac = execFileSync('ip', ['-n', B, '-j', 'link', 'show', 'v0'], { encoding: 'utf8' });
        await waitFor(
          "keepalived's side learnt the VIP at tsvs's MAC from the GARP",
          () => {
            const neigh = execFileSync('ip', ['-n', A, 'neigh', 'show', vip.split('/')[0]!], { encoding: 'utf8' });
            const mac = neigh.split('lladdr ')[1]?.split(' ')[0];
            return mac !== undefined && bMac.includes(mac);
          },
          2000,
        );
        rmSync(flag);
        await waitFor(
          'script failed: 150 - 100 < 100, keepalived preempts',
          () => t.state() === 'BACKUP' && k.state() === 'MASTER' && t.last()?.effectivePriority === 50,
          4000,
        );
        await waitFor('notify_backup ran', () => /^backup$/m.test(notesText()), 2000);
        writeFileSync(flag, '');
        await waitFor('script good again: tsvs preempts back', () => t.state() === 'MASTER' && k.state() === 'BACKUP', 4000);
        await topo.exec(B, ['ip', 'link', 'set', 'trk0', 'down']);
        await waitFor(
          'tracked interface down: tsvs FAULT, keepalived MASTER',
          () => t.state() === 'FAULT' && k.state() === 'MASTER' && !hasVip(B, vip),
          4000,
        );
        await waitFor('notify_fault ran', () => /^fault$/m.test(notesText()) && /^INSTANCE VI FAULT/m.test(notesText()), 2000);
        await topo.exec(B, ['ip', 'link', 'set', 'trk0', 'up']);
        await waitFor('interface up: tsvs back to MASTER', () => t.state() === 'MASTER', 5000);
      },
    );
  });
});
