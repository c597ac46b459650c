// keepalived.conf grammar (docs/spec/ha.md §B.1): the tree, comments, quotes, includes, and bad input
// reported at file:line without throwing.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ConfNode } from '../../../src/ha/conf/node.js';
import { parseConfFile, parseConfText } from '../../../src/ha/conf/parse.js';

/** The tree without file/line, for compact expectations. */
type Shape = [string, string[], Shape[]?];
function shape(nodes: ConfNode[]): Shape[] {
  return nodes.map((n) => (n.children.length ? [n.keyword, n.args, shape(n.children)] : [n.keyword, n.args]));
}

describe('keepalived.conf grammar', () => {
  const cases: { what: string; text: string; want: Shape[] }[] = [
    {
      what: 'nested blocks, one statement per line',
      text: 'virtual_server 10.0.0.1 80 {\n  delay_loop 6\n  real_server 10.0.1.1 80 {\n    weight 2\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n}\n',
      want: [
        [
          'virtual_server',
          ['10.0.0.1', '80'],
          [
            ['delay_loop', ['6']],
            [
              'real_server',
              ['10.0.1.1', '80'],
              [
                ['weight', ['2']],
                ['TCP_CHECK', [], [['connect_timeout', ['3']]]],
              ],
            ],
          ],
        ],
      ],
    },
    {
      what: '! and # comments, anywhere on a line',
      text: '! header\n# another\nglobal_defs { # trailing\n  router_id r1 ! why\n}\n',
      want: [['global_defs', [], [['router_id', ['r1']]]]],
    },
    {
      what: 'brace on the next line, and a one-line block',
      text: 'virtual_server_group G\n{\n  10.0.0.1 80\n}\nvirtual_ipaddress { 10.0.0.9/24 }\n',
      want: [
        ['virtual_server_group', ['G'], [['10.0.0.1', ['80']]]],
        ['virtual_ipaddress', [], [['10.0.0.9/24', []]]],
      ],
    },
    {
      what: 'quoted strings keep spaces, comment characters and escapes, quotes removed',
      text: 'notify_up "/bin/echo up # not a comment"\nmisc_path \'/x y\' "a\\"b"\n',
      want: [
        ['notify_up', ['/bin/echo up # not a comment']],
        ['misc_path', ['/x y', 'a"b']],
      ],
    },
    {
      what: '$NAME=value parameters are substituted',
      text: '$VIP=10.0.0.5\nvirtual_server ${VIP} $UNSET 80 {\n}\n',
      want: [['virtual_server', ['10.0.0.5', '$UNSET', '80']]],
    },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const r = parseConfText(c.text, '/etc/k.conf');
      assert.deepEqual(r.errors, []);
      assert.deepEqual(shape(r.nodes), c.want);
    });
  }

  it('records file and 1-based line of each statement', () => {
    const r = parseConfText('\n\nglobal_defs {\n  router_id a\n}\n', '/x.conf');
    const g = r.nodes[0] as ConfNode;
    assert.equal(g.line, 3);
    assert.equal(g.file, '/x.conf');
    assert.equal(g.children[0]?.line, 4);
  });

  const bad: { what: string; text: string; line: number; re: RegExp }[] = [
    { what: 'missing closing brace', text: 'global_defs {\n  router_id a\nvirtual_server 1.2.3.4 80 {\n}\n', line: 1, re: /missing '}'/ },
    { what: 'extra closing brace', text: 'global_defs {\n}\n}\n', line: 3, re: /'}' without a block/ },
    { what: 'unterminated quote', text: 'a\nnotify_up "x\n', line: 2, re: /unterminated/ },
    { what: 'brace with no keyword', text: 'global_defs {\n}\n\n{\n}\n', line: 4, re: /without a keyword/ },
    { what: 'include of a missing file', text: 'include /nonexistent/tsvs-test.conf\n', line: 1, re: /no such file/ },
  ];
  for (const b of bad) {
    it(`reports ${b.what} at file:line`, () => {
      const r = parseConfText(b.text, '/etc/k.conf');
      const e = r.errors[0];
      assert.ok(e, 'an error');
      assert.equal(e.file, '/etc/k.conf');
      assert.equal(e.line, b.line);
      assert.match(e.text, b.re);
    });
  }

  describe('include', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvs-conf-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', 'b.conf'), 'virtual_server 10.0.0.2 80 {\n}\n');
    writeFileSync(join(dir, 'conf.d', 'a.conf'), 'virtual_server 10.0.0.1 80 {\n  oops {\n}\n');
    writeFileSync(join(dir, 'conf.d', 'skip.txt'), 'x\n');
    writeFileSync(join(dir, 'main.conf'), 'global_defs {\n}\ninclude conf.d/*.conf\ninclude none/*.conf\n');
    writeFileSync(join(dir, 'loop.conf'), 'include loop.conf\n');

    it('expands globs relative to the including file, in name order, with their own file:line', () => {
      const r = parseConfFile(join(dir, 'main.conf'));
      assert.deepEqual(
        r.nodes.map((n) => n.args[0] ?? n.keyword),
        ['global_defs', '10.0.0.1', '10.0.0.2'],
      );
      assert.equal(r.nodes[2]?.file, join(dir, 'conf.d', 'b.conf'));
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0]?.file, join(dir, 'conf.d', 'a.conf'));
      assert.equal(r.warnings.length, 1, 'a glob matching nothing is a warning');
      assert.equal(r.warnings[0]?.line, 4);
    });
    it('stops an include loop with an error', () => {
      const r = parseConfFile(join(dir, 'loop.conf'));
      assert.match(r.errors[0]?.text ?? '', /nested deeper/);
    });
    it('an unreadable top file is an error, not a throw', () => {
      const r = parseConfFile(join(dir, 'absent.conf'));
      assert.match(r.errors[0]?.text ?? '', /cannot read.*ENOENT/);
    });
  });
});
