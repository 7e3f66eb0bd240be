// The bridge's OpenAPI document (api/openapi.yaml) is the contract: its
// component schemas validate the JSON bodies the bridge accepts (manifests
// in the registry core, admin requests in fastify routes), and
// openapi-typescript generates src/generated/openapi.d.ts from it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

import type { components } from './generated/openapi';

export type Schemas = components['schemas'];

/** The document's component schemas as one JSON Schema, refs rewritten to `openapi#/$defs/<Name>`. */
export interface SchemaBundle {
  $id: 'openapi';
  $defs: Record<string, unknown>;
}

let bundle: SchemaBundle | undefined;

export function openApiPath(): string {
  // src/openapi.ts and dist/openapi.js are both one level below the package root
  return join(__dirname, '..', 'api', 'openapi.yaml');
}

export function schemaBundle(): SchemaBundle {
  if (!bundle) {
    const doc = parse(readFileSync(openApiPath(), 'utf8')) as {
      components: { schemas: Record<string, unknown> };
    };
    const text = JSON.stringify(doc.components.schemas).replace(
      /"#\/components\/schemas\//g,
      '"openapi#/$defs/',
    );
    bundle = { $id: 'openapi', $defs: JSON.parse(text) as Record<string, unknown> };
  }
  return bundle;
}

/** A fastify/ajv `$ref` to a component schema. */
export const schemaRef = (name: keyof Schemas) => ({ $ref: `openapi#/$defs/${name}` });

let ajv: Ajv | undefined;

/** A validator for one component schema (compiled once). */
export function validatorFor<K extends keyof Schemas>(name: K): ValidateFunction<Schemas[K]> {
  if (!ajv) {
    // strict off: the document carries OpenAPI annotations (descriptions, formats) ajv need not enforce
    ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
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
