// The daemon's logger: JSON lines in a file with levels honoured, readable lines for a
// terminal, and which tsvsadm commands count as rule changes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isReadOnly } from '../../src/control/events.js';
import { asLog, createLog, jsonLine, prettyLine } from '../../src/control/log.js';

describe('log', () => {
  it('writes JSON lines to a file, dropping lines below the level', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvs-log-'));
    try {
      const file = join(dir, 'sub', 'd.log');
      const log = createLog({ level: 'warn', file });
      log('started');
      log.info('also dropped');
      log.warn('drops', { drops: { no_dest: 3 } });
      log.error('bad');
      log.close();
      const lines = readFileSync(file, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(
        lines.map((l) => [l.level, l.msg]),
        [
          [40, 'drops'],
          [50, 'bad'],
        ],
      );
      assert.deepEqual(lines[0]!.drops, { no_dest: 3 });
      assert.equal(typeof lines[0]!.time, 'string');
      assert.equal(log.target, file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("writes lines in pino's shape, whatever the fields hold", () => {
    assert.equal(
      jsonLine(40, '2026-01-01T00:00:00.000Z', 7, 'overloaded', { dest: '10.0.0.1:80', n: 3 }),
      '{"level":40,"time":"2026-01-01T00:00:00.000Z","pid":7,"name":"tsvs","dest":"10.0.0.1:80","n":3,"msg":"overloaded"}\n',
    );
    const cyc: Record<string, unknown> = { a: 1 };
    cyc.self = cyc;
    const o = JSON.parse(
      jsonLine(50, 't', 1, 'say "hi"\n', { msg: 'x', big: 2n ** 64n, err: new Error('boom'), cyc, gone: undefined }),
    ) as Record<string, unknown>;
    assert.equal(o.msg, 'say "hi"\n');
    assert.equal(o.field_msg, 'x', "a field named like the line's own keys is renamed, not lost");
    assert.equal(o.big, '18446744073709551616');
    assert.equal((o.err as { message: string }).message, 'boom');
    assert.deepEqual(o.cyc, { a: 1, self: '[Circular]' });
    assert.equal('gone' in o, false);
  });

  it('silent drops every line; debug lines need level debug', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvs-log-'));
    try {
      const quiet = join(dir, 'q.log');
      const q = createLog({ level: 'silent', file: quiet });
      q.error('not even this');
      q.close();
      assert.equal(readFileSync(quiet, 'utf8'), '');
      const loud = join(dir, 'l.log');
      const l = createLog({ level: 'debug', file: loud });
      l.debug('seen', { k: 1 });
      l.close();
      assert.deepEqual(
        JSON.parse(readFileSync(loud, 'utf8')),
        JSON.parse(jsonLine(20, JSON.parse(readFileSync(loud, 'utf8')).time, process.pid, 'seen', { k: 1 })),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('renders a readable line for a terminal', () => {
    const line = prettyLine('{"level":40,"time":"2026-01-01T00:00:00.000Z","pid":7,"name":"tsvs","dest":"10.0.0.1:80","msg":"overloaded"}');
    assert.equal(line, '2026-01-01T00:00:00.000Z WARN  overloaded  name=tsvs dest=10.0.0.1:80\n');
  });

  it('wraps a plain Logger so level calls still reach it', () => {
    const got: string[] = [];
    const log = asLog((m) => got.push(m));
    log('a');
    log.warn('b', { n: 1 });
    assert.deepEqual(got, ['a', 'warn: b {"n":1}']);
  });

  it('tells listing commands from rule changes', () => {
    for (const a of [['-L', '-n'], ['-Ln'], ['-lnc'], ['-S', '-n'], ['--list'], ['-h'], ['-V'], []])
      assert.equal(isReadOnly(a), true, a.join(' '));
    for (const a of [
      ['-A', '-t', '1.2.3.4:80', '-s', 'rr'],
      ['-C'],
      ['-Z'],
      ['-R'],
      ['-e', '-t', '1.2.3.4:80', '-r', '10.0.0.1', '-w', '0'],
    ]) {
      assert.equal(isReadOnly(a), false, a.join(' '));
    }
  });
});
