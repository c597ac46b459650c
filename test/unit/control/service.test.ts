import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderUnit } from '../../../src/cli/service.js';

/** The unit's sections as key → values (systemd allows repeated keys). */
function parse(text: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let sec: Map<string, string[]> | null = null;
  for (const line of text.split('\n')) {
    const h = /^\[(\w+)\]$/.exec(line);
    if (h) out.set(h[1]!, (sec = new Map()));
    else if (line.includes('=')) {
      assert.ok(sec, `key outside a section: ${line}`);
      const k = line.slice(0, line.indexOf('='));
      sec.set(k, [...(sec.get(k) ?? []), line.slice(k.length + 1)]);
    } else assert.equal(line, '', `not a unit line: ${line}`);
  }
  return out;
}

describe('systemd unit of the director', () => {
  const o = { engine: 'packet' as const, node: '/usr/bin/node', bin: '/opt/tsvs/bin/tsvs' };

  it('starts the director at boot and again after any crash, its state in /var/lib/tsvs', () => {
    const u = parse(renderUnit({ ...o, template: false }));
    const svc = u.get('Service')!;
    assert.deepEqual(svc.get('ExecStart'), ['/usr/bin/node /opt/tsvs/bin/tsvs daemon --engine packet']);
    assert.deepEqual(svc.get('ExecStop'), ['/usr/bin/node /opt/tsvs/bin/tsvs daemon stop']);
    assert.deepEqual(svc.get('Restart'), ['always']);
    assert.deepEqual(svc.get('Type'), ['simple'], 'the daemon stays in the foreground');
    assert.deepEqual(svc.get('Environment'), ['TSVS_STATE_DIR=/var/lib/tsvs']);
    assert.equal(svc.get('NetworkNamespacePath'), undefined);
    assert.deepEqual(u.get('Unit')!.get('StartLimitIntervalSec'), ['0'], 'no give-up after a burst of crashes');
    assert.deepEqual(u.get('Install')!.get('WantedBy'), ['multi-user.target']);
  });

  it('the template runs in the named namespace', () => {
    const u = parse(renderUnit({ ...o, template: true }));
    assert.deepEqual(u.get('Service')!.get('NetworkNamespacePath'), ['/run/netns/%i']);
    assert.match(u.get('Unit')!.get('Description')![0]!, /network namespace %i/);
  });
});
