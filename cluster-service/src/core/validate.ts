// Validation of documents that are not request bodies as such (a resource
// after a JSON-patch), against the same OpenAPI schemas, with the same
// Horizon-tolerant coercion and WSME-worded errors as request bodies.

import Ajv, { type ValidateFunction } from 'ajv';
import type { FastifySchemaValidationError } from 'fastify';

import { coerceBody } from '../api/coerce';
import { componentSchema, describeViolation } from '../api/openapi';

const ajv = new Ajv({
  allErrors: false,
  verbose: true,
  strict: false,
  coerceTypes: false,
  useDefaults: false,
});
ajv.addFormat('uuid', /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i);
const compiled = new Map<
  string,
  { schema: ReturnType<typeof componentSchema>; validate: ValidateFunction }
>();

/** The value, coerced, if it matches the named component schema; else a 400 worded as WSME's. */
export function validateAgainst(schemaName: string, value: unknown, argument: string): unknown {
  let c = compiled.get(schemaName);
  if (!c) {
    const schema = componentSchema(schemaName);
    c = { schema, validate: ajv.compile(schema) };
    compiled.set(schemaName, c);
  }
  const coerced = coerceBody(value, c.schema);
  if (!c.validate(coerced)) {
    throw describeViolation((c.validate.errors ?? []) as FastifySchemaValidationError[], argument);
  }
  return coerced;
}
