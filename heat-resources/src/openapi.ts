// The service's OpenAPI document (api/openapi.yaml) is its contract and the
// one definition of the resource types: its component schemas validate
// request bodies (fastify route schemas refer to them), openapi-typescript
// generates src/generated/openapi.d.ts from it, and types/heat-schema.ts
// derives the Heat type schema the plugin reads.

import { join } from 'node:path';

import { OpenApiContract } from '@berth/service-kit';

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

/**
 * ajv options of the API: no type coercion (Heat sends typed JSON; "512" for
 * an integer is a client bug worth a 400), defaults filled in.
 */
export const AJV_OPTIONS = { strict: false, coerceTypes: false, useDefaults: true } as const;

// src/openapi.ts and dist/openapi.js are both one level below the package root
export const contract = new OpenApiContract<Schemas, OpenApiDocument>(
  join(__dirname, '..', 'api', 'openapi.yaml'),
  AJV_OPTIONS,
);

export const openApiDocument = (): OpenApiDocument => contract.document();

/** A fastify/ajv `$ref` to a component schema. */
export const schemaRef = (name: keyof Schemas) => contract.ref(name);
