// The OpenAPI document (api/openapi.yaml) is the contract: request bodies are
// validated against its schemas, and src/generated/api.d.ts is generated from
// it. This loads it once, inlines its $refs (the schemas have no cycles) and
// turns ajv's verdicts into the messages WSME gives for the same mistakes.

import { join } from 'node:path';

import { OpenApiContract } from '@berth/service-kit';
import type { FastifySchemaValidationError } from 'fastify';

import type { components } from '../generated/api';
import type { JsonSchema } from './coerce';
import { invalid, pyRepr } from './errors';

type Doc = {
  paths: Record<
    string,
    Record<string, { operationId?: string; requestBody?: { content: Record<string, { schema: unknown }> } }>
  >;
  components: { schemas: Record<string, unknown> };
};

// api/openapi.yaml, two levels above src/api/ and dist/api/ alike
const contract = new OpenApiContract<components['schemas'], Doc>(
  join(__dirname, '..', '..', 'api', 'openapi.yaml'),
);

export const loadOpenApi = (): Doc => contract.document();

function deref(node: unknown, doc: Doc, depth = 0): unknown {
  if (depth > 50) throw new Error('openapi.yaml: $ref nesting too deep (a cycle?)');
  if (Array.isArray(node)) return node.map((n) => deref(n, doc, depth + 1));
  if (!node || typeof node !== 'object') return node;
  const obj = node as Record<string, unknown>;
  if (typeof obj.$ref === 'string') {
    const m = /^#\/components\/schemas\/(.+)$/.exec(obj.$ref);
    if (!m) throw new Error(`openapi.yaml: unsupported $ref ${obj.$ref}`);
    const target = doc.components.schemas[m[1]!];
    if (!target) throw new Error(`openapi.yaml: no schema ${m[1]}`);
    const { $ref: _ref, ...rest } = obj;
    void _ref;
    return { ...(deref(target, doc, depth + 1) as object), ...(deref(rest, doc, depth + 1) as object) };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = deref(v, doc, depth + 1);
  return out;
}

/** The JSON schema of an operation's request body, $refs inlined. */
export function requestSchema(operationId: string): JsonSchema {
  const doc = loadOpenApi();
  for (const methods of Object.values(doc.paths)) {
    for (const op of Object.values(methods)) {
      if (op && typeof op === 'object' && op.operationId === operationId) {
        const schema = op.requestBody?.content['application/json']?.schema;
        if (!schema) throw new Error(`openapi.yaml: ${operationId} has no JSON request body`);
        return deref(schema, doc) as JsonSchema;
      }
    }
  }
  throw new Error(`openapi.yaml: no operation ${operationId}`);
}

/** A named component schema, $refs inlined (e.g. for validating a patched resource). */
export function componentSchema(name: string): JsonSchema {
  const doc = loadOpenApi();
  const s = doc.components.schemas[name];
  if (!s) throw new Error(`openapi.yaml: no schema ${name}`);
  return deref(s, doc) as JsonSchema;
}

function fieldOf(e: FastifySchemaValidationError): string {
  return (e.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
}

/**
 * WSME's wording for the first schema violation: "Unknown attribute for
 * argument cluster: foo", "Invalid input for field/attribute node_count.
 * Value: '-1'. Value should be greater or equal to 0", ...
 */
export function describeViolation(errors: FastifySchemaValidationError[], argument: string): Error {
  const e = errors[0];
  if (!e) return invalid('Invalid input');
  const params = (e.params ?? {}) as Record<string, unknown>;
  const field = fieldOf(e) || argument;
  const value = (e as { data?: unknown }).data;
  const bad = (reason: string) =>
    invalid(`Invalid input for field/attribute ${field}. Value: '${pyRepr(value)}'. ${reason}`);
  switch (e.keyword) {
    case 'additionalProperties':
      return invalid(
        `Unknown attribute for argument ${fieldOf(e) || argument}: ${String(params.additionalProperty)}`,
      );
    case 'required':
      return invalid(
        `Invalid input for field/attribute ${String(params.missingProperty)}. Value: 'None'. Mandatory field missing.`,
      );
    case 'type':
      return bad(`Wrong type. Expected '${String(params.type)}', got '${jsonType(value)}'`);
    case 'minimum':
      return bad(`Value should be greater or equal to ${String(params.limit)}`);
    case 'maximum':
      return bad(`Value should be lower or equal to ${String(params.limit)}`);
    case 'minLength':
      return bad(`Value should have a minimum character requirement of ${String(params.limit)}`);
    case 'maxLength':
      return bad(`Value should have a maximum character requirement of ${String(params.limit)}`);
    case 'pattern':
      return bad(`Value should match the pattern ${String(params.pattern)}`);
    case 'enum':
      return bad(
        `Value should be one of: ${((params.allowedValues as unknown[]) ?? []).map(pyRepr).join(', ')}`,
      );
    case 'format':
      return bad(`Expected a ${String(params.format)} but received ${pyRepr(value)}.`);
    default:
      return bad(e.message ?? 'Invalid value');
  }
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (Number.isInteger(v)) return 'integer';
  return typeof v;
}
