// The bridge's OpenAPI document (api/openapi.yaml) is the contract: its
// component schemas validate the JSON bodies the bridge accepts (manifests
// in the registry core, admin requests in fastify routes), and
// openapi-typescript generates src/generated/openapi.d.ts from it.

import { join } from 'node:path';

import { OpenApiContract } from '@berth/service-kit';

import type { components } from './generated/openapi';

export type Schemas = components['schemas'];

// src/openapi.ts and dist/openapi.js are both one level below the package root
export const contract = new OpenApiContract<Schemas>(join(__dirname, '..', 'api', 'openapi.yaml'));

/** A fastify/ajv `$ref` to a component schema. */
export const schemaRef = (name: keyof Schemas) => contract.ref(name);
