// Horizon str()s every value it sends ("10", "True"), and Magnum (WSME)
// accepts that: int("10") and oslo's bool_from_string(strict). This walks a
// request body along its JSON schema and converts such strings where the
// schema wants an integer or a boolean, before the schema validates the body.
// Nothing else is coerced: a number where a string is wanted stays an error.

export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  allOf?: JsonSchema[];
  [k: string]: unknown;
};

const TRUE = new Set(['1', 't', 'true', 'on', 'y', 'yes']);
const FALSE = new Set(['0', 'f', 'false', 'off', 'n', 'no']);

function types(schema: JsonSchema): string[] {
  return schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
}

/** The string as an integer or boolean when the schema asks for one; otherwise unchanged. */
export function coerceScalar(value: unknown, schema: JsonSchema): unknown {
  if (typeof value !== 'string') return value;
  const t = types(schema);
  if (t.includes('string')) return value;
  if (t.includes('integer') && /^\s*[-+]?\d+\s*$/.test(value)) return Number(value.trim());
  if (t.includes('boolean')) {
    const s = value.trim().toLowerCase();
    if (TRUE.has(s)) return true;
    if (FALSE.has(s)) return false;
  }
  return value;
}

/** Returns the body with schema-directed coercions applied (a new object; the input is not changed). */
export function coerceBody(value: unknown, schema: JsonSchema | undefined): unknown {
  if (!schema) return value;
  let out = coerceScalar(value, schema);
  for (const sub of schema.allOf ?? []) out = coerceBody(out, sub);
  if (Array.isArray(out) && schema.items) {
    return out.map((item) => coerceBody(item, schema.items));
  }
  if (out && typeof out === 'object' && !Array.isArray(out) && (schema.properties || schema.allOf)) {
    const props = schema.properties ?? {};
    const extra = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(out as Record<string, unknown>)) {
      const sub = props[k] ?? extra;
      copy[k] = sub ? coerceBody(v, sub) : v;
    }
    return copy;
  }
  return out;
}
