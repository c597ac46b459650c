// What the daemon's thread and the proxy workers tell each other. Messages are flat arrays of
// numbers and strings, one array per event-loop turn in each direction, so that a busy worker
// pays for one postMessage per turn, not one per connection or per segment.
//
// The two schemas below are the only description of the messages: the encoders (`put`) and the
// decoder of each side are derived from them, with their TypeScript types, so no side counts
// offsets by hand. A message is its kind's code followed by its fields in schema order; a kind
// with `each` (PLAN) is followed by as many groups of those fields as its last field says.
//
// A worker's first message is READY with its eventfd, which the daemon's thread writes to after
// posting to it.

import type { DestHealth } from './context.js';

export type Batch = (number | string | SharedArrayBuffer)[];

type FieldType = 'num' | 'str' | 'sab' | 'health';
type Field = readonly [name: string, type: FieldType];
interface MessageSpec {
  readonly code: number;
  readonly fields: readonly Field[];
  /** Fields repeated as many times as the last of `fields` says. */
  readonly each?: readonly Field[];
}
type Schema = Readonly<Record<string, MessageSpec>>;

interface FieldTypes {
  num: number;
  str: string;
  sab: SharedArrayBuffer;
  health: DestHealth;
}

/** The TypeScript tuple of a field list: ['id', 'num'], ['host', 'str'] → [number, string]. */
export type Args<F extends readonly Field[]> = {
  -readonly [K in keyof F]: F[K] extends readonly [string, infer T extends FieldType] ? FieldTypes[T] : never;
};
type Items<M extends MessageSpec> = M extends { each: infer E extends readonly Field[] } ? [items: Args<E>[]] : [];

/** worker → daemon. */
export const FROM_WORKER = {
  /** The worker is up; the daemon's thread writes `efd` to wake it. */
  READY: { code: 11, fields: [['efd', 'num']] },
  /** A client connected (its address as the core's 4 words). */
  ACCEPT: {
    code: 1,
    fields: [
      ['id', 'num'],
      ['svcId', 'num'],
      ['cport', 'num'],
      ['w0', 'num'],
      ['w1', 'num'],
      ['w2', 'num'],
      ['w3', 'num'],
    ],
  },
  /** Client → server event (synthesised TCP flags, payload). */
  IN: {
    code: 2,
    fields: [
      ['ref', 'num'],
      ['id', 'num'],
      ['ev', 'num'],
      ['bytes', 'num'],
    ],
  },
  /** Server → client event. */
  OUT: {
    code: 3,
    fields: [
      ['ref', 'num'],
      ['id', 'num'],
      ['ev', 'num'],
      ['bytes', 'num'],
    ],
  },
  /** A drop counter to bump. */
  DROP: { code: 4, fields: [['reason', 'str']] },
  /** The dest of this conn answered (or not). */
  HEALTH: {
    code: 5,
    fields: [
      ['ref', 'num'],
      ['id', 'num'],
      ['health', 'health'],
      ['detail', 'str'],
    ],
  },
  /** Both sockets are closed: no more events for this conn. */
  CLOSED: {
    code: 6,
    fields: [
      ['ref', 'num'],
      ['id', 'num'],
    ],
  },
  /** Every event before this one has been sent. */
  SETTLED: { code: 7, fields: [['token', 'num']] },
  /**
   * A datagram the core must see (a new flow, a one-packet service, a flow told to go slow or
   * near its timeout); the worker holds it until UDECIDE.
   */
  UDP: {
    code: 8,
    fields: [
      ['flow', 'num'],
      ['svcId', 'num'],
      ['cport', 'num'],
      ['w0', 'num'],
      ['w1', 'num'],
      ['w2', 'num'],
      ['w3', 'num'],
      ['len', 'num'],
    ],
  },
  /**
   * A client connected and the worker picked its dest from the service's plan (plans.ts) and is
   * connecting; its events carry ref -1 (the core's ref is found by id).
   */
  PICKED: {
    code: 9,
    fields: [
      ['id', 'num'],
      ['svcId', 'num'],
      ['destId', 'num'],
      ['cport', 'num'],
      ['w0', 'num'],
      ['w1', 'num'],
      ['w2', 'num'],
      ['w3', 'num'],
    ],
  },
  /** The real server accepted: its SYN+ACK, the client's ACK, and the dest is healthy. */
  CONNECTED: {
    code: 10,
    fields: [
      ['ref', 'num'],
      ['id', 'num'],
    ],
  },
} as const satisfies Schema;

/** daemon → worker. */
export const TO_WORKER = {
  /** The core's choice for ACCEPT id (ref < 0: reset it). */
  DECIDE: {
    code: 1,
    fields: [
      ['id', 'num'],
      ['ref', 'num'],
      ['host', 'str'],
      ['port', 'num'],
      ['pp', 'num'],
    ],
  },
  /** The core expired the conn: close both sockets. */
  DESTROY: { code: 2, fields: [['id', 'num']] },
  /** Accept on this listening socket for this service. */
  LISTEN: {
    code: 3,
    fields: [
      ['svcId', 'num'],
      ['fd', 'num'],
    ],
  },
  /** Stop accepting for this service. */
  UNLISTEN: { code: 4, fields: [['svcId', 'num']] },
  /** Answer SETTLED once earlier events are sent. */
  SETTLE: { code: 5, fields: [['token', 'num']] },
  /** Close every socket and exit. */
  STOP: { code: 6, fields: [] },
  /** Receive datagrams on this bound UDP socket. */
  ULISTEN: {
    code: 7,
    fields: [
      ['svcId', 'num'],
      ['fd', 'num'],
    ],
  },
  /** The core's verdict for the flow's oldest held datagram (ref < 0: drop it); ms: the UDP timeout. */
  UDECIDE: {
    code: 8,
    fields: [
      ['flow', 'num'],
      ['ref', 'num'],
      ['host', 'str'],
      ['port', 'num'],
      ['ops', 'num'],
      ['ms', 'num'],
    ],
  },
  /** The core expired the flow's conn: close its socket. */
  UFORGET: {
    code: 9,
    fields: [
      ['flow', 'num'],
      ['ref', 'num'],
    ],
  },
  /** The flow's dest was deleted: every datagram goes through the core again (which drops them). */
  USLOW: { code: 10, fields: [['flow', 'num']] },
  /** Pick for the service from this plan (a shared counter and the picks, plans.ts). */
  PLAN: {
    code: 11,
    fields: [
      ['svcId', 'num'],
      ['seq', 'sab'],
      ['prefix', 'num'],
      ['period', 'num'],
      ['n', 'num'],
    ],
    each: [
      ['destId', 'num'],
      ['host', 'str'],
      ['port', 'num'],
      ['pp', 'num'],
    ],
  },
  /** The service's plan is closed: ACCEPT again. */
  NOPLAN: { code: 12, fields: [['svcId', 'num']] },
  /** The core refused a PICKED conn: reset the client. */
  RESET: { code: 13, fields: [['id', 'num']] },
} as const satisfies Schema;

/** Appends one message of each kind to a batch. */
export type Encoders<S extends Schema> = { readonly [K in keyof S]: (b: Batch, ...args: Args<S[K]['fields']>) => void };
/** Appends one group of a kind's `each` fields (after its message). */
export type ItemEncoders<S extends Schema> = {
  readonly [K in keyof S as S[K] extends { each: readonly Field[] } ? K : never]: S[K] extends { each: infer E extends readonly Field[] }
    ? (b: Batch, ...args: Args<E>) => void
    : never;
};
/** What a side does with each kind of message it receives. */
export type Handlers<S extends Schema> = { readonly [K in keyof S]: (...args: [...Args<S[K]['fields']>, ...Items<S[K]>]) => void };

type Value = Batch[number];
/** The most fields a message may have: the fixed-arity pushes and calls below go that far. */
const MAX_FIELDS = 8;
type AnyFn = (...a: Value[]) => void;
type Push = (b: Batch, ...a: Value[]) => void;

/**
 * An encoder that pushes the code and exactly `n` values: a fixed-arity push, so that encoding
 * allocates nothing beyond the batch's own growth (a rest parameter would cost an array).
 */
function pusher(code: number, n: number): Push {
  // prettier-ignore
  switch (n) {
    case 0: return (b) => void b.push(code);
    case 1: return (b, a) => void b.push(code, a);
    case 2: return (b, a, c) => void b.push(code, a, c);
    case 3: return (b, a, c, d) => void b.push(code, a, c, d);
    case 4: return (b, a, c, d, e) => void b.push(code, a, c, d, e);
    case 5: return (b, a, c, d, e, f) => void b.push(code, a, c, d, e, f);
    case 6: return (b, a, c, d, e, f, g) => void b.push(code, a, c, d, e, f, g);
    case 7: return (b, a, c, d, e, f, g, h) => void b.push(code, a, c, d, e, f, g, h);
    case 8: return (b, a, c, d, e, f, g, h, j) => void b.push(code, a, c, d, e, f, g, h, j);
    default: throw new Error(`channel: a message of ${n} fields is longer than the encoders handle (8): split it`);
  }
}

/** Like pusher, for an item group: no code in front. */
function itemPusher(n: number): Push {
  // prettier-ignore
  switch (n) {
    case 1: return (b, a) => void b.push(a);
    case 2: return (b, a, c) => void b.push(a, c);
    case 3: return (b, a, c, d) => void b.push(a, c, d);
    case 4: return (b, a, c, d, e) => void b.push(a, c, d, e);
    default: throw new Error(`channel: an item of ${n} fields is longer than the encoders handle (4): split it`);
  }
}

export function encoders<S extends Schema>(schema: S): Encoders<S> {
  const out: Record<string, Push> = {};
  for (const [name, spec] of Object.entries(schema)) out[name] = pusher(spec.code, spec.fields.length);
  return out as unknown as Encoders<S>;
}

export function itemEncoders<S extends Schema>(schema: S): ItemEncoders<S> {
  const out: Record<string, Push> = {};
  for (const [name, spec] of Object.entries(schema)) if (spec.each) out[name] = itemPusher(spec.each.length);
  return out as unknown as ItemEncoders<S>;
}

export const toWorker = encoders(TO_WORKER);
export const toWorkerItem = itemEncoders(TO_WORKER);
export const fromWorker = encoders(FROM_WORKER);

const HEALTH: ReadonlySet<Value> = new Set<DestHealth>(['ok', 'refused', 'timeout', 'error']);

function fits(v: Value | undefined, t: FieldType): boolean {
  switch (t) {
    case 'num':
      return typeof v === 'number';
    case 'str':
      return typeof v === 'string';
    case 'sab':
      return v instanceof SharedArrayBuffer;
    case 'health':
      return HEALTH.has(v as Value);
  }
}

interface Entry {
  readonly name: string;
  readonly types: readonly FieldType[];
  readonly each: readonly FieldType[] | null;
  readonly fn: AnyFn;
}

/**
 * Returns why the batch is malformed (an unknown kind, a message cut short, a field of the wrong
 * type), or null if every message in it is whole.
 */
function check(table: readonly (Entry | undefined)[], m: Batch): string | null {
  for (let i = 0; i < m.length;) {
    const code = m[i];
    const e = typeof code === 'number' ? table[code] : undefined;
    if (!e) return `unknown kind ${String(code)} at ${i}`;
    const n = e.types.length;
    if (i + 1 + n > m.length) return `${e.name} at ${i} cut short`;
    for (let k = 0; k < n; k++) if (!fits(m[i + 1 + k], e.types[k]!)) return `${e.name} at ${i}: field ${k + 1} is not ${e.types[k]}`;
    i += 1 + n;
    if (!e.each) continue;
    const count = m[i - 1] as number;
    const w = e.each.length;
    if (!Number.isInteger(count) || count < 0 || i + count * w > m.length) return `${e.name}: ${String(count)} items do not fit`;
    for (let j = 0; j < count * w; j++)
      if (!fits(m[i + j], e.each[j % w]!)) return `${e.name} item ${Math.floor(j / w)}: field ${(j % w) + 1} is not ${e.each[j % w]}`;
    i += count * w;
  }
  return null;
}

/** Calls `fn` with the n values after index i (fixed arity: no array). */
function call(fn: AnyFn, m: Batch, i: number, n: number): void {
  // prettier-ignore
  switch (n) {
    case 0: fn(); break;
    case 1: fn(m[i + 1]!); break;
    case 2: fn(m[i + 1]!, m[i + 2]!); break;
    case 3: fn(m[i + 1]!, m[i + 2]!, m[i + 3]!); break;
    case 4: fn(m[i + 1]!, m[i + 2]!, m[i + 3]!, m[i + 4]!); break;
    case 5: fn(m[i + 1]!, m[i + 2]!, m[i + 3]!, m[i + 4]!, m[i + 5]!); break;
    case 6: fn(m[i + 1]!, m[i + 2]!, m[i + 3]!, m[i + 4]!, m[i + 5]!, m[i + 6]!); break;
    case 7: fn(m[i + 1]!, m[i + 2]!, m[i + 3]!, m[i + 4]!, m[i + 5]!, m[i + 6]!, m[i + 7]!); break;
    default: fn(m[i + 1]!, m[i + 2]!, m[i + 3]!, m[i + 4]!, m[i + 5]!, m[i + 6]!, m[i + 7]!, m[i + 8]!);
  }
}

/**
 * A decoder for one side: it checks the whole batch first and, if any message in it is
 * malformed, applies none of it and returns why (the caller counts `channel-malformed`): a
 * partly applied batch could leave a conn half-decided. Else it calls the handler of each message
 * in order and returns null. Decoding allocates nothing except for a kind with `each` (PLAN, one
 * per rule change), whose items are handed over as an array.
 */
export function decoder<S extends Schema>(schema: S, handlers: Handlers<S>): (m: Batch) => string | null {
  const table: (Entry | undefined)[] = [];
  for (const [name, spec] of Object.entries(schema)) {
    if (spec.fields.length > MAX_FIELDS)
      throw new Error(`channel: ${name} has ${spec.fields.length} fields, more than ${MAX_FIELDS}: split it`);
    table[spec.code] = {
      name,
      types: spec.fields.map((f) => f[1]),
      each: spec.each ? spec.each.map((f) => f[1]) : null,
      fn: (handlers as unknown as Record<string, AnyFn>)[name]!,
    };
  }
  return (m) => {
    const bad = check(table, m);
    if (bad !== null) return bad;
    for (let i = 0; i < m.length;) {
      const e = table[m[i] as number]!;
      const n = e.types.length;
      if (!e.each) {
        call(e.fn, m, i, n);
        i += 1 + n;
        continue;
      }
      const count = m[i + n] as number;
      const w = e.each.length;
      const items: Value[][] = [];
      for (let k = 0, j = i + 1 + n; k < count; k++, j += w) items.push(m.slice(j, j + w));
      const args = m.slice(i + 1, i + 1 + n);
      args.push(items as unknown as Value);
      e.fn(...args);
      i += 1 + n + count * w;
    }
    return null;
  };
}
