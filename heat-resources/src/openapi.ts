// The service's OpenAPI document (api/openapi.yaml) is its contract and the
// one definition of the resource types: its component schemas validate
// request bodies (fastify route schemas refer to them), openapi-typescript
// generates src/generated/openapi.d.ts from it, and types/heat-schema.ts
// derives the Heat type schema the plugin reads.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

import type { components } from './generated/openapi';

export type Schemas = components['schemas'];

/** A JSON Schema object as the document writes it (with its x-heat-* extensions). */
export type JsonSchema = Record<string, unknown>;

export interface HeatTypeEntry {
  type: string;
  collection: string;
  properties: keyof Schemas;
  attributes: keyof Schemas;
  description: string;
}

export interface OpenApiDocument {
  'x-heat-resource-types': HeatTypeEntry[];
  components: { schemas: Record<string, JsonSchema> };
}

export function openApiPath(): string {
  // src/openapi.ts and dist/openapi.js are both one level below the package root
  return join(__dirname, '..', 'api', 'openapi.yaml');
}

let doc: OpenApiDocument | undefined;

export function openApiDocument(): OpenApiDocument {
  doc ??= parse(readFileSync(openApiPath(), 'utf8')) as OpenApiDocument;
  return doc;
}

/** The component schemas as one JSON Schema, refs rewritten to `openapi#/$defs/<Name>`. */
export function schemaBundle(): { $id: 'openapi'; $defs: Record<string, JsonSchema> } {
  const text = JSON.stringify(openApiDocument().components.schemas).replace(
    /"#\/components\/schemas\//g,
    '"openapi#/$defs/',
  );
  return { $id: 'openapi', $defs: JSON.parse(text) as Record<string, JsonSchema> };
}

/** A fastify/ajv `$ref` to a component schema. */
export const schemaRef = (name: keyof Schemas) => ({ $ref: `openapi#/$defs/${name}` });

/**
 * ajv options of the API: strict off (the document carries x-heat-*
 * annotations ajv need not know), no type coercion (Heat sends typed JSON;
 * "512" for an integer is a client bug worth a 400), defaults filled in.
 */
export const AJV_OPTIONS = { strict: false, coerceTypes: false, useDefaults: true } as const;

let ajv: Ajv | undefined;

/** A validator for one component schema (compiled once). */
export function validatorFor<K extends keyof Schemas>(name: K): ValidateFunction<Schemas[K]> {
  if (!ajv) {
    ajv = new Ajv({ ...AJV_OPTIONS, allErrors: true, validateFormats: false });
    ajv.addSchema(schemaBundle());
  }
  const v = ajv.getSchema<Schemas[K]>(`openapi#/$defs/${name}`);
  if (!v) throw new Error(`no schema ${name} in api/openapi.yaml`);
  return v;
}

/** Ajv errors as short strings for an error `detail`. */
export function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).slice(0, 10).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}
