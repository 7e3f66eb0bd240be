import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describeAjvErrors, OpenApiContract } from './contract';

interface Schemas {
  Port: { number: number; protocol?: 'tcp' | 'udp' };
  Container: { name: string; ports?: Schemas['Port'][]; restart?: string };
}

const DOC = `
openapi: 3.1.0
info: { title: t, version: '1' }
x-note: an extension the document carries
paths: {}
components:
  schemas:
    Port:
      type: object
      required: [number]
      additionalProperties: false
      properties:
        number: { type: integer, minimum: 1, maximum: 65535 }
        protocol: { type: string, enum: [tcp, udp], x-display: Protocol }
    Container:
      type: object
      required: [name]
      properties:
        name: { type: string, format: hostname }
        ports: { type: array, items: { $ref: '#/components/schemas/Port' } }
        restart: { type: string, default: 'no' }
`;

function contractFile(): string {
  const p = join(mkdtempSync(join(tmpdir(), 'openapi-')), 'openapi.yaml');
  writeFileSync(p, DOC);
  return p;
}

describe('OpenApiContract', () => {
  const path = contractFile();

  it('bundles the component schemas with refs pointing into the bundle', () => {
    const bundle = new OpenApiContract<Schemas>(path).bundle();
    expect(bundle.$id).toBe('openapi');
    expect(bundle.$defs.Container).toMatchObject({
      properties: { ports: { items: { $ref: 'openapi#/$defs/Port' } } },
    });
  });

  it('gives a fresh bundle each call, so a caller that mutates one does not change the next', () => {
    const c = new OpenApiContract<Schemas>(path);
    (c.bundle().$defs.Port as { type: string }).type = 'string';
    expect(c.bundle().$defs.Port).toMatchObject({ type: 'object' });
  });

  it('validates against a component, following refs, with every error reported', () => {
    const validate = new OpenApiContract<Schemas>(path).validator('Container');
    expect(validate({ name: 'web', ports: [{ number: 80, protocol: 'tcp' }] })).toBe(true);
    expect(validate({ ports: [{ number: 0, protocol: 'sctp', extra: 1 }] })).toBe(false);
    expect(describeAjvErrors(validate.errors)).toEqual(
      expect.arrayContaining([
        "/ must have required property 'name'",
        '/ports/0 must NOT have additional properties',
        '/ports/0/number must be >= 1',
        '/ports/0/protocol must be equal to one of the allowed values',
      ]),
    );
  });

  it("applies the service's ajv policy (defaults filled in here) and ignores formats and x- annotations", () => {
    const validate = new OpenApiContract<Schemas>(path, { useDefaults: true }).validator('Container');
    const doc: Schemas['Container'] = { name: 'not a hostname!' };
    expect(validate(doc)).toBe(true);
    expect(doc.restart).toBe('no');
  });

  it('names the document when a schema is missing', () => {
    const c = new OpenApiContract<Record<string, unknown>>(path);
    expect(() => c.validator('Volume')).toThrow(`no schema Volume in ${path}`);
  });

  it('exposes the document with its extensions and makes fastify refs', () => {
    const c = new OpenApiContract<
      Schemas,
      { 'x-note': string; components: { schemas: Record<string, unknown> } }
    >(path);
    expect(c.document()['x-note']).toBe('an extension the document carries');
    expect(c.ref('Port')).toEqual({ $ref: 'openapi#/$defs/Port' });
  });
});

describe('describeAjvErrors', () => {
  it('keeps the first ten and says where', () => {
    const errors = Array.from({ length: 12 }, (_, i) => ({
      instancePath: i === 0 ? '' : `/f${i}`,
      schemaPath: '#',
      keyword: 'type',
      params: {},
      message: i === 1 ? undefined : 'must be string',
    }));
    const out = describeAjvErrors(errors);
    expect(out).toHaveLength(10);
    expect(out[0]).toBe('/ must be string');
    expect(out[1]).toBe('/f1 is invalid');
    expect(describeAjvErrors(null)).toEqual([]);
  });
});
