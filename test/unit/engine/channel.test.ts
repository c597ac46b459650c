// The proxy worker channel (src/engine/proxy/channel.ts): every kind of message, in both
// directions, comes out of the decoder as the encoder put it in, in order; a malformed batch
// (unknown kind, a message cut short, a field of the wrong type, a PLAN whose items do not fit)
// is refused whole, with a reason, and no handler runs for any message of it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Batch,
  decoder,
  encoders,
  FROM_WORKER,
  fromWorker,
  itemEncoders,
  TO_WORKER,
  toWorker,
  toWorkerItem,
} from '../../../src/engine/proxy/channel.js';

type Value = Batch[number];
type Spec = { code: number; fields: readonly (readonly [string, string])[]; each?: readonly (readonly [string, string])[] };
type Fn = (...a: unknown[]) => void;

const sab = new SharedArrayBuffer(8);

/** A distinct value of the field's type, so that a swapped pair of fields shows. */
function sample(type: string, k: number): Value {
  switch (type) {
    case 'num':
      return 1000 + k;
    case 'str':
      return `s${k}`;
    case 'sab':
      return sab;
    case 'health':
      return ['ok', 'refused', 'timeout', 'error'][k % 4]!;
  }
  throw new Error(`no sample for ${type}`);
}

/** Handlers that record each call as [kind, ...args]. */
function recorder(schema: Record<string, Spec>): { calls: unknown[][]; handlers: Record<string, Fn> } {
  const calls: unknown[][] = [];
  const handlers: Record<string, Fn> = {};
  for (const name of Object.keys(schema)) handlers[name] = (...a) => void calls.push([name, ...a]);
  return { calls, handlers };
}

for (const [side, schema] of [
  ['daemon → worker', TO_WORKER],
  ['worker → daemon', FROM_WORKER],
] as const) {
  const specs = schema as unknown as Record<string, Spec>;

  test(`${side}: the codes are distinct`, () => {
    const codes = Object.values(specs).map((s) => s.code);
    assert.equal(new Set(codes).size, codes.length);
  });

  test(`${side}: every kind round-trips, one at a time and all in one batch`, () => {
    const put = encoders(schema) as unknown as Record<string, (b: Batch, ...a: Value[]) => void>;
    const putItem = itemEncoders(schema) as unknown as Record<string, (b: Batch, ...a: Value[]) => void>;
    const all: Batch = [];
    const want: unknown[][] = [];
    for (const [name, spec] of Object.entries(specs)) {
      const args = spec.fields.map((f, k) => sample(f[1], k));
      const items: Value[][] = [];
      if (spec.each) {
        args[args.length - 1] = 3; // the count
        for (let j = 0; j < 3; j++) items.push(spec.each.map((f, k) => sample(f[1], k + 10 * j)));
      }
      const one: Batch = [];
      for (const b of [one, all]) {
        put[name]!(b, ...args);
        for (const it of items) putItem[name]!(b, ...it);
      }
      const expected = spec.each ? [name, ...args, items] : [name, ...args];
      want.push(expected);
      const r = recorder(specs);
      const decode = decoder(schema, r.handlers as never);
      assert.equal(decode(one), null, name);
      assert.deepEqual(r.calls, [expected], name);
    }
    const r = recorder(specs);
    assert.equal(decoder(schema, r.handlers as never)(all), null);
    assert.deepEqual(r.calls, want);
  });
}

test('typed encoders put the code first and the fields in schema order', () => {
  const b: Batch = [];
  toWorker.DECIDE(b, 7, 42, '10.0.0.1', 80, 2);
  toWorker.STOP(b);
  toWorker.PLAN(b, 3, sab, 5, 9, 2);
  toWorkerItem.PLAN(b, 11, '10.0.0.2', 8080, 0);
  toWorkerItem.PLAN(b, 12, '2001:db8::3', 8081, 1);
  fromWorker.HEALTH(b, 1, 2, 'timeout', 'connect');
  assert.deepEqual(b, [
    TO_WORKER.DECIDE.code,
    7,
    42,
    '10.0.0.1',
    80,
    2,
    TO_WORKER.STOP.code,
    TO_WORKER.PLAN.code,
    3,
    sab,
    5,
    9,
    2,
    11,
    '10.0.0.2',
    8080,
    0,
    12,
    '2001:db8::3',
    8081,
    1,
    FROM_WORKER.HEALTH.code,
    1,
    2,
    'timeout',
    'connect',
  ]);
});

const D = TO_WORKER;
const malformed: { description: string; batch: Batch; reason: RegExp }[] = [
  { description: 'unknown kind', batch: [D.DESTROY.code, 1, 99, 1], reason: /unknown kind 99 at 2/ },
  { description: 'a string where a kind is expected', batch: ['ready', 5], reason: /unknown kind ready at 0/ },
  { description: 'kind 0 (no message has it)', batch: [0], reason: /unknown kind 0/ },
  {
    description: 'the last message cut short',
    batch: [D.DESTROY.code, 1, D.DECIDE.code, 7, 42, '10.0.0.1', 80],
    reason: /DECIDE at 2 cut short/,
  },
  { description: 'one field too many (read as a kind)', batch: [D.DESTROY.code, 1, 2], reason: /DESTROY at 2 cut short/ },
  { description: 'a number where a host is expected', batch: [D.DECIDE.code, 7, 42, 3, 80, 2], reason: /DECIDE at 0: field 3 is not str/ },
  { description: 'a string where a ref is expected', batch: [D.UFORGET.code, 1, '2'], reason: /UFORGET at 0: field 2 is not num/ },
  { description: 'PLAN without its shared counter', batch: [D.PLAN.code, 3, 0, 5, 9, 0], reason: /PLAN at 0: field 2 is not sab/ },
  {
    description: 'PLAN with more items announced than sent',
    batch: [D.PLAN.code, 3, sab, 5, 9, 2, 11, '10.0.0.2', 8080, 0],
    reason: /PLAN: 2 items do not fit/,
  },
  { description: 'PLAN with a negative count', batch: [D.PLAN.code, 3, sab, 5, 9, -1], reason: /PLAN: -1 items/ },
  { description: 'PLAN with a fractional count', batch: [D.PLAN.code, 3, sab, 5, 9, 0.5], reason: /PLAN: 0.5 items/ },
  {
    description: 'PLAN item with a number for its host',
    batch: [D.PLAN.code, 3, sab, 5, 9, 1, 11, 12, 8080, 0],
    reason: /PLAN item 0: field 2 is not str/,
  },
];

for (const c of malformed) {
  test(`daemon → worker, malformed: ${c.description}: refused whole, no handler runs`, () => {
    const r = recorder(D as unknown as Record<string, Spec>);
    const reason = decoder(D, r.handlers as never)(c.batch);
    assert.match(reason ?? '', c.reason);
    assert.deepEqual(r.calls, []);
  });
}

test('worker → daemon, malformed: a health the daemon does not know is refused', () => {
  const r = recorder(FROM_WORKER as unknown as Record<string, Spec>);
  const reason = decoder(FROM_WORKER, r.handlers as never)([FROM_WORKER.SETTLED.code, 1, FROM_WORKER.HEALTH.code, 1, 2, 'sick', '']);
  assert.match(reason ?? '', /HEALTH at 2: field 3 is not health/);
  assert.deepEqual(r.calls, []);
});

test('an empty batch is whole and calls nothing', () => {
  const r = recorder(D as unknown as Record<string, Spec>);
  assert.equal(decoder(D, r.handlers as never)([]), null);
  assert.deepEqual(r.calls, []);
});
