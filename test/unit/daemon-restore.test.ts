// The director restores a rules file at start through tsvsadm -R, and its log names each
// input line that failed (number and text) while the rules of the other lines stay applied.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startDaemon } from '../../src/control/daemon.js';

describe('daemon: -R failures in the log', () => {
  it('names the line of a rules file that failed, with its text and message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvs-restore-'));
    const lines: string[] = [];
    try {
      const rules = join(dir, 'rules');
      writeFileSync(rules, '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.9:80 -r 10.0.1.1 -m\n-A -t 10.0.0.2:80 -s rr\n');
      const d = await startDaemon({
        engine: 'proxy',
        runDir: dir,
        rulesFile: rules,
        log: (m) => lines.push(m),
        watchNamespace: false,
      });
      try {
        assert.equal(d.ipvs.rules.serviceCount, 2);
      } finally {
        await d.stop();
      }
      assert.ok(
        lines.some((l) =>
          l.endsWith('ipvsadm -R: input line 2 failed (exit 255): "-a -t 10.0.0.9:80 -r 10.0.1.1 -m": Service not defined'),
        ),
        lines.join('\n'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
