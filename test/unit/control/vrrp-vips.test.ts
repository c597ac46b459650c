// The 'vrrp-vips' control request (protocol.ts VrrpVipsRequest) through a real daemon's control
// socket: accepted with its fields checked, the set kept next to the rules and restored by the
// next director; and tsvs keepalived's side (director-vips.ts) starting a director that is gone
// and telling it the VIPs again.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { request } from '../../../src/cli/client.js';
import { type DaemonHandle, startDaemon } from '../../../src/control/daemon.js';
import { MAX_VRRP_VIPS, requestError } from '../../../src/control/server.js';
import { DirectorVips } from '../../../src/ha/vrrp/director-vips.js';

function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-vrrp-vips-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

function daemon(dir: string, lines: string[]): Promise<DaemonHandle> {
  return startDaemon({ engine: 'proxy', runDir: dir, stateFile: join(dir, 'ns.rules'), log: (m) => lines.push(m), watchNamespace: false });
}

describe('vrrp-vips request', () => {
  it('is checked field by field', () => {
    assert.equal(requestError({ op: 'vrrp-vips', addrs: ['10.0.0.1', 'fd00::1'] }), null);
    assert.equal(requestError({ op: 'vrrp-vips', addrs: [] }), null);
    assert.match(requestError({ op: 'vrrp-vips' }) ?? '', /without an addrs list/);
    assert.match(requestError({ op: 'vrrp-vips', addrs: [1] }) ?? '', /without an addrs list/);
    assert.match(requestError({ op: 'vrrp-vips', addrs: ['10.0.0.1', '10.0.0.300'] }) ?? '', /"10\.0\.0\.300", which is not an IP address/);
    assert.match(requestError({ op: 'vrrp-vips', addrs: Array(MAX_VRRP_VIPS + 1).fill('10.0.0.1') }) ?? '', /at most 65536/);
    assert.match(requestError({ op: 'nope' }) ?? '', /no known op/);
    assert.match(requestError(null) ?? '', /not an object/);
  });

  it('a daemon accepts it, keeps the set next to its rules, and the next daemon restores it', () =>
    withDir(async (dir) => {
      const lines: string[] = [];
      const d1 = await daemon(dir, lines);
      try {
        const r = await request<{ ok: boolean; pid: number }>(d1.socket, { op: 'vrrp-vips', addrs: ['10.0.0.5', 'fd00::5'] });
        assert.deepEqual(r, { ok: true, pid: process.pid });
        assert.equal(readFileSync(join(dir, 'ns.vrrp-vips'), 'utf8'), '10.0.0.5\nfd00::5\n');
        // A malformed one loses its connection (no answer), and the daemon goes on.
        await assert.rejects(request(d1.socket, { op: 'vrrp-vips', addrs: ['not-an-ip'] } as never), /without an answer/);
        assert.ok(
          lines.some((l) => /dropped a client: vrrp-vips request lists "not-an-ip"/.test(l)),
          lines.join('\n'),
        );
        assert.deepEqual(await request(d1.socket, { op: 'ping' }), { ok: true, pid: process.pid });
      } finally {
        await d1.stop();
      }
      writeFileSync(join(dir, 'ns.vrrp-vips'), '10.0.0.5\nfd00::5\ngarbage\n');
      const d2 = await daemon(dir, lines);
      await d2.stop();
      assert.ok(
        lines.some((l) => /1 line\(s\) are not IP addresses/.test(l)),
        lines.join('\n'),
      );
      assert.ok(
        lines.some((l) => /restored 2 VRRP VIP\(s\) from .*ns\.vrrp-vips/.test(l)),
        lines.join('\n'),
      );
    }));

  it('tsvs keepalived starts a director that is gone and tells it the VIPs again', () =>
    withDir(async (dir) => {
      const lines: string[] = [];
      const logs: string[] = [];
      let d: DaemonHandle = await daemon(dir, lines);
      let started = 0;
      const dv = new DirectorVips({
        sock: d.socket,
        log: (level, msg) => logs.push(`${level}: ${msg}`),
        startDirector: async () => {
          started++;
          d = await daemon(dir, lines);
        },
        watchMs: 60_000,
      });
      try {
        await dv.tell(['192.0.2.7']);
        const file = join(dir, 'ns.vrrp-vips');
        assert.equal(readFileSync(file, 'utf8'), '192.0.2.7\n');
        await dv.check(); // same director: nothing to do
        assert.equal(started, 0);
        await d.stop();
        rmSync(file);
        await dv.check();
        assert.equal(started, 1, 'the director that was told and is gone is started again');
        assert.equal(readFileSync(file, 'utf8'), '192.0.2.7\n', 'and told the VIPs');
        assert.ok(
          logs.some((l) => /^warn: VRRP: the director \(pid \d+, .*\) is gone; starting it again/.test(l)),
          logs.join('\n'),
        );
        // No VIPs left (a reload without VRRP instances): a director that goes is left alone.
        await dv.tell([]);
        assert.equal(readFileSync(file, 'utf8'), '');
        await d.stop();
        await dv.check();
        assert.equal(started, 1);
      } finally {
        dv.stop();
        await d.stop();
      }
    }));

  it('with no director ever told, none is started', () =>
    withDir(async (dir) => {
      let started = 0;
      const dv = new DirectorVips({
        sock: join(dir, 'none.sock'),
        log: () => {},
        startDirector: () => {
          started++;
          return Promise.resolve();
        },
      });
      try {
        await dv.tell(['192.0.2.7']);
        await dv.check();
        assert.equal(started, 0);
        await dv.tell([]); // no VIPs: nothing to keep, never a director started
        assert.ok(!existsSync(join(dir, 'ns.vrrp-vips')));
      } finally {
        dv.stop();
      }
    }));
});
