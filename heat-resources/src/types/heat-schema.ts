// Derives the Heat type schema (what heat-engine's generic plugin builds its
// resource classes from) from the OpenAPI document's component schemas, so
// each resource type is defined once. JSON Schema maps onto Heat's
// properties.Schema as follows:
//
//   string/integer/number/boolean   String/Integer/Number/Boolean
//   array (items)                   List, `schema` = the item's schema
//   object with properties          Map, `schema` = its keys' schemas
//   object without properties       Map
//   a union of types                Any (the JSON Schema check in the plugin covers it)
//   enum / minimum,maximum / minLength,maxLength,minItems,maxItems / pattern / x-heat-constraint
//                                   AllowedValues / Range / Length / AllowedPattern / CustomConstraint
//
// Anything Heat could not express and the plugin could not check (oneOf or
// anyOf over values rather than over `required` lists) is refused here, at
// build time, rather than silently dropped.

import { createHash } from 'node:crypto';

import type { JsonSchema, OpenApiDocument } from '../openapi';

export type HeatType = 'String' | 'Integer' | 'Number' | 'Boolean' | 'Map' | 'List' | 'Any';
export type UpdateKind = 'in-place' | 'rebuild' | 'replace';

export type HeatConstraint =
  | { allowed_values: unknown[] }
  | { range: { min?: number; max?: number } }
  | { length: { min?: number; max?: number } }
  | { allowed_pattern: string }
  | { custom_constraint: string };

export interface HeatProperty {
  type: HeatType;
  description: string;
  required: boolean;
  update_allowed: boolean;
  update?: UpdateKind;
  default?: unknown;
  constraints?: HeatConstraint[];
  /** List: the item's schema; Map: its keys' schemas */
  schema?: HeatProperty | Record<string, HeatProperty>;
}

export interface HeatAttribute {
  description: string;
  type: 'String' | 'Integer' | 'Boolean' | 'Map' | 'List';
}

export interface ExclusiveRule {
  exclusive: string[];
  message: string;
}

export interface HeatResourceType {
  path: string;
  description: string;
  properties: Record<string, HeatProperty>;
  attributes: Record<string, HeatAttribute>;
  rules: ExclusiveRule[];
  /** the properties' JSON Schema, `required` dropped (Heat checks it) and refs inlined */
  json_schema: JsonSchema;
}

export interface ResourceTypes {
  format: 'berth-heat-resource-types/1';
  version: string;
  service_type: string;
  resource_types: Record<string, HeatResourceType>;
}

export class SchemaDefinitionError extends Error {
  constructor(where: string, message: string) {
    super(`api/openapi.yaml ${where}: ${message}`);
    this.name = 'SchemaDefinitionError';
  }
}

const UPDATE_NOTES: Record<UpdateKind, string> = {
  'in-place': 'Updated in place.',
  rebuild:
    'Updated in place by a Nova rebuild: same server, id, ports and addresses; the container restarts and its named volumes start empty.',
  replace: 'Changing it replaces the resource.',
};

/** Whether a oneOf/anyOf only says which keys must be present (the plugin's JSON Schema check covers it). */
function onlyRequiredLists(alternatives: unknown): boolean {
  return (
    Array.isArray(alternatives) &&
    alternatives.every(
      (a) =>
        typeof a === 'object' &&
        a !== null &&
        Object.keys(a).length === 1 &&
        Array.isArray((a as JsonSchema).required),
    )
  );
}

function heatTypeOf(s: JsonSchema, where: string): HeatType {
  for (const k of ['oneOf', 'anyOf'] as const) {
    if (s[k] !== undefined && !onlyRequiredLists(s[k])) {
      throw new SchemaDefinitionError(
        where,
        `${k} over values cannot be expressed as a Heat property; use one type`,
      );
    }
  }
  const t = s.type;
  if (Array.isArray(t) || t === undefined) return 'Any';
  switch (t) {
    case 'string':
      return 'String';
    case 'integer':
      return 'Integer';
    case 'number':
      return 'Number';
    case 'boolean':
      return 'Boolean';
    case 'array':
      return 'List';
    case 'object':
      return 'Map';
    default:
      throw new SchemaDefinitionError(where, `type ${String(t)} has no Heat equivalent`);
  }
}

function constraintsOf(s: JsonSchema, type: HeatType): HeatConstraint[] {
  const out: HeatConstraint[] = [];
  if (Array.isArray(s.enum)) out.push({ allowed_values: s.enum });
  const bound = (lo: unknown, hi: unknown) => {
    const r: { min?: number; max?: number } = {};
    if (typeof lo === 'number') r.min = lo;
    if (typeof hi === 'number') r.max = hi;
    return Object.keys(r).length ? r : undefined;
  };
  const range = bound(s.minimum, s.maximum);
  if (range && (type === 'Integer' || type === 'Number')) out.push({ range });
  const length = type === 'List' ? bound(s.minItems, s.maxItems) : bound(s.minLength, s.maxLength);
  if (length && (type === 'String' || type === 'List')) out.push({ length });
  if (typeof s.pattern === 'string') out.push({ allowed_pattern: s.pattern });
  if (typeof s['x-heat-constraint'] === 'string') out.push({ custom_constraint: s['x-heat-constraint'] });
  return out;
}

function toHeatProperty(s: JsonSchema, where: string, required: boolean, topLevel: boolean): HeatProperty {
  const type = heatTypeOf(s, where);
  let description = typeof s.description === 'string' ? s.description : '';
  // list items are described by their list
  if (!description && !where.endsWith('.items'))
    throw new SchemaDefinitionError(where, 'every property needs a description');
  let update: UpdateKind | undefined;
  if (topLevel) {
    const u = s['x-heat-update'];
    if (u !== 'in-place' && u !== 'rebuild' && u !== 'replace') {
      throw new SchemaDefinitionError(where, 'x-heat-update must be in-place, rebuild or replace');
    }
    update = u;
    description = `${description} ${UPDATE_NOTES[u]}`.trim();
  }
  const p: HeatProperty = {
    type,
    description,
    required,
    update_allowed: update !== undefined && update !== 'replace',
  };
  if (update) p.update = update;
  if (s.default !== undefined) p.default = s.default;
  const constraints = constraintsOf(s, type);
  if (constraints.length) p.constraints = constraints;
  if (type === 'List' && typeof s.items === 'object' && s.items !== null) {
    p.schema = toHeatProperty(s.items as JsonSchema, `${where}.items`, false, false);
  }
  if (type === 'Map' && typeof s.properties === 'object' && s.properties !== null) {
    p.schema = mapKeys(s, where);
  }
  return p;
}

function mapKeys(s: JsonSchema, where: string): Record<string, HeatProperty> {
  const req = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  const out: Record<string, HeatProperty> = {};
  for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, JsonSchema>)) {
    out[k] = toHeatProperty(v, `${where}.${k}`, req.has(k), false);
  }
  return out;
}

function attributeType(s: JsonSchema, where: string): HeatAttribute['type'] {
  switch (s.type) {
    case 'string':
    case 'number':
      return 'String';
    case 'integer':
      return 'Integer';
    case 'boolean':
      return 'Boolean';
    case 'object':
      return 'Map';
    case 'array':
      return 'List';
    default:
      throw new SchemaDefinitionError(where, 'attributes need one JSON type');
  }
}

/** Inlines local refs and removes `required` (Heat enforces it, with values that may be unresolved at validation). */
function pluginJsonSchema(s: JsonSchema): JsonSchema {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v !== 'object' || v === null) return v;
    const out: JsonSchema = {};
    for (const [k, x] of Object.entries(v as JsonSchema)) {
      if (k.startsWith('x-') || k === 'description') continue;
      out[k] = walk(x);
    }
    return out;
  };
  const copy = walk(s) as JsonSchema;
  delete copy.required;
  return copy;
}

/** Every property the resource types declare, by type, with how an update applies it. */
export function updateKinds(types: ResourceTypes, type: string): Record<string, UpdateKind> {
  const t = types.resource_types[type];
  if (!t) throw new Error(`unknown resource type ${type}`);
  return Object.fromEntries(Object.entries(t.properties).map(([k, p]) => [k, p.update ?? 'replace']));
}

export function buildResourceTypes(doc: OpenApiDocument, serviceType: string): ResourceTypes {
  const schemas = doc.components.schemas;
  const resourceTypes: Record<string, HeatResourceType> = {};
  for (const entry of doc['x-heat-resource-types']) {
    const props = schemas[entry.properties];
    const attrs = schemas[entry.attributes];
    if (!props || !attrs)
      throw new SchemaDefinitionError(entry.type, 'names a component schema that does not exist');
    const required = new Set(Array.isArray(props.required) ? (props.required as string[]) : []);
    const properties: Record<string, HeatProperty> = {};
    for (const [name, s] of Object.entries((props.properties ?? {}) as Record<string, JsonSchema>)) {
      properties[name] = toHeatProperty(s, `${entry.properties}.${name}`, required.has(name), true);
    }
    const attributes: Record<string, HeatAttribute> = {};
    for (const [name, s] of Object.entries((attrs.properties ?? {}) as Record<string, JsonSchema>)) {
      const where = `${entry.attributes}.${name}`;
      if (typeof s.description !== 'string')
        throw new SchemaDefinitionError(where, 'every attribute needs a description');
      attributes[name] = { description: s.description, type: attributeType(s, where) };
    }
    const rules = ((props['x-heat-rules'] ?? []) as ExclusiveRule[]).map((r, i) => {
      if (
        !Array.isArray(r.exclusive) ||
        r.exclusive.some((k) => !(k in properties)) ||
        typeof r.message !== 'string'
      ) {
        throw new SchemaDefinitionError(
          `${entry.properties}.x-heat-rules[${i}]`,
          'needs exclusive (property names) and message',
        );
      }
      return { exclusive: r.exclusive, message: r.message };
    });
    resourceTypes[entry.type] = {
      path: `/v1/${entry.collection}`,
      description: entry.description,
      properties,
      attributes,
      rules,
      json_schema: pluginJsonSchema(props),
    };
  }
  const content = JSON.stringify({ service_type: serviceType, resource_types: resourceTypes });
  return {
    format: 'berth-heat-resource-types/1',
    version: createHash('sha256').update(content).digest('hex').slice(0, 16),
    service_type: serviceType,
    resource_types: resourceTypes,
  };
}

/** The first exclusive rule the properties break, as its message. */
export function brokenRule(rules: ExclusiveRule[], properties: Record<string, unknown>): string | undefined {
  for (const r of rules) {
    if (r.exclusive.filter((k) => properties[k] !== undefined && properties[k] !== null).length > 1)
      return r.message;
  }
  return undefined;
}
