// Engine selection (control/engine.ts loadEngine): a module that does not resolve, or a native
// binding that does not, gives the engine asked for in a failed state that status() and the
// log name, never another engine; the proxy engine without koffi says it uses Node's sockets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadEngine } from '../../../src/control/engine.js';
import { Ipvs } from '../../../src/core/ipvs.js';
import { loadAdmRunner } from '../../../src/control/adm-runner.js';

function logger(): { log: (m: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { log: (m) => lines.push(m), lines };
}

const MISSING = new URL('../../../dist/engine/no-such-engine/index.js', import.meta.url);

describe('loadEngine', () => {
  it('a partial build (the engine module does not resolve) gives that engine, failed, with the reason in status and log', async () => {
    const { log, lines } = logger();
    const { engine } = await loadEngine('proxy', log, { module: MISSING });
    assert.equal(engine.name, 'proxy');
    const ipvs = new Ipvs({ now: 0 });
    await engine.start(ipvs, () => 0);
    const runAdm = await loadAdmRunner();
    await runAdm(['-A', '-t', '10.0.0.1:80', '-s', 'rr'], 'ipvsadm', { ipvs, now: 0, stdin: '' });
    const st = engine.status();
    assert.equal(st.engine, 'proxy');
    assert.match(st.loadError ?? '', /^the proxy engine failed to load: .*no-such-engine.*npm run build.*no traffic is forwarded$/);
    assert.deepEqual(
      st.unserved.map((u) => u.rule),
      ['-A -t 10.0.0.1:80'],
    );
    assert.match(lines[0] ?? '', /proxy engine failed to load/);
    await engine.stop();
  });

  it(
    'koffi missing: the packet engine fails to load and says to run npm ci',
    { skip: process.platform !== 'linux' && 'Linux only' },
    async () => {
      const { log, lines } = logger();
      const { engine } = await loadEngine('packet', log, { native: 'koffi-not-installed' });
      assert.equal(engine.name, 'packet');
      assert.match(
        engine.status().loadError ?? '',
        /packet engine failed to load: koffi-not-installed cannot be loaded \(.*\): run "npm ci"/,
      );
      assert.equal(lines.length, 1);
    },
  );

  it(
    'koffi missing: the proxy engine loads and notes that its workers use Node sockets',
    { skip: process.platform !== 'linux' && 'Linux only' },
    async () => {
      const { log } = logger();
      const { engine, notes } = await loadEngine('proxy', log, { native: 'koffi-not-installed' });
      assert.equal(engine.status().loadError, undefined);
      assert.match(notes.join('\n'), /koffi-not-installed cannot be loaded.*Node's sockets instead of epoll/);
    },
  );

  it('the real engines load with no error and no note', async () => {
    for (const name of ['packet', 'proxy'] as const) {
      const { engine, notes } = await loadEngine(name, () => {});
      assert.equal(engine.name, name);
      assert.equal(engine.status().loadError, undefined, name);
      assert.deepEqual(notes, []);
    }
  });
});
