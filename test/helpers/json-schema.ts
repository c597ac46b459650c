// The part of JSON Schema that docs/http-api.schema.json uses (type, enum, const, required,
// properties, additionalProperties, items, minimum, maximum, $ref within the file), checked
// strictly: a keyword this checker does not know is an error, so the schema cannot say more
// than is tested.

type Schema = Record<string, unknown>;

const KNOWN = new Set([
  '$schema',
  '$comment',
  '$defs',
  '$ref',
  'type',
  'enum',
  'const',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'minimum',
  'maximum',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Problems found, as `path: what`; empty when `v` fits. */
export function validate(root: Schema, s: Schema, v: unknown, path = '$'): string[] {
  for (const k of Object.keys(s)) if (!KNOWN.has(k)) throw new Error(`schema keyword ${k} at ${path} is not supported`);
  if (typeof s.$ref === 'string') {
    const name = s.$ref.replace('#/$defs/', '');
    const target = (root.$defs as Record<string, Schema>)[name];
    if (!target) throw new Error(`no $defs/${name}`);
    return validate(root, target, v, path);
  }
  const out: string[] = [];
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    const t = typeOf(v);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) return [`${path}: ${t}, want ${types.join('|')}`];
  }
  if (s.enum && !(s.enum as unknown[]).includes(v)) out.push(`${path}: ${JSON.stringify(v)} not in ${JSON.stringify(s.enum)}`);
  if ('const' in s && s.const !== v) out.push(`${path}: ${JSON.stringify(v)} is not ${JSON.stringify(s.const)}`);
  if (typeof v === 'number') {
    if (typeof s.minimum === 'number' && v < s.minimum) out.push(`${path}: ${v} < ${s.minimum}`);
    if (typeof s.maximum === 'number' && v > s.maximum) out.push(`${path}: ${v} > ${s.maximum}`);
  }
  if (Array.isArray(v) && s.items) v.forEach((x, i) => out.push(...validate(root, s.items as Schema, x, `${path}[${i}]`)));
  if (typeOf(v) === 'object') {
    const o = v as Record<string, unknown>;
    for (const r of (s.required as string[] | undefined) ?? []) if (!(r in o)) out.push(`${path}: missing ${r}`);
    const props = (s.properties as Record<string, Schema> | undefined) ?? {};
    for (const [k, x] of Object.entries(o)) {
      if (props[k]) out.push(...validate(root, props[k], x, `${path}.${k}`));
      else if (s.additionalProperties === false) out.push(`${path}: unexpected ${k}`);
      else if (typeof s.additionalProperties === 'object') {
        out.push(...validate(root, s.additionalProperties as Schema, x, `${path}.${k}`));
      }
    }
  }
  return out;
}
