// A service's OpenAPI document (api/openapi.yaml) is its contract: the
// component schemas validate what the service accepts (fastify route schemas
// refer to them, code validates documents against them), and
// openapi-typescript generates the TypeScript types from the same file. This
// loads the document once and serves its schemas to fastify and ajv.

import { readFileSync } from 'node:fs';

import Ajv, { type ErrorObject, type Options as AjvOptions, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

/** The component schemas as one JSON Schema, refs rewritten to `openapi#/$defs/<Name>`. */
export interface SchemaBundle {
  $id: 'openapi';
  $defs: Record<string, Record<string, unknown>>;
}

/** What every document has: the component schemas. */
export interface WithSchemas {
  components: { schemas: Record<string, unknown> };
}

/**
 * One OpenAPI document. `Schemas` is openapi-typescript's
 * `components['schemas']`, so validators are typed by schema name; `Doc` is
 * the shape the service reads of the document itself (extensions included).
 */
export class OpenApiContract<Schemas, Doc extends WithSchemas = WithSchemas> {
  private doc: Doc | undefined;
  private ajv: Ajv | undefined;

  /**
   * `ajvOptions` are the service's validation policy (coercion, defaults);
   * strict mode is off because the document carries annotations and x-
   * extensions ajv need not enforce.
   */
  constructor(
    readonly path: string,
    private readonly ajvOptions: AjvOptions = {},
  ) {}

  document(): Doc {
    this.doc ??= parse(readFileSync(this.path, 'utf8')) as Doc;
    return this.doc;
  }

  /** For `fastify.addSchema` and ajv: a fresh copy each call (fastify keeps what it is given). */
  bundle(): SchemaBundle {
    const text = JSON.stringify(this.document().components.schemas).replace(
      /"#\/components\/schemas\//g,
      '"openapi#/$defs/',
    );
    return { $id: 'openapi', $defs: JSON.parse(text) as SchemaBundle['$defs'] };
  }

  /** A fastify/ajv `$ref` to a component schema. */
  ref(name: keyof Schemas & string): { $ref: string } {
    return { $ref: `openapi#/$defs/${name}` };
  }

  /** A validator for one component schema (compiled once). */
  validator<K extends keyof Schemas & string>(name: K): ValidateFunction<Schemas[K]> {
    if (!this.ajv) {
      this.ajv = new Ajv({ allErrors: true, validateFormats: false, ...this.ajvOptions, strict: false });
      this.ajv.addSchema(this.bundle());
    }
    const v = this.ajv.getSchema<Schemas[K]>(`openapi#/$defs/${name}`);
    if (!v) throw new Error(`no schema ${name} in ${this.path}`);
    return v;
  }
}

/** Ajv errors as short strings for an error `detail` (the first ten). */
export function describeAjvErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).slice(0, 10).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}
