import { openApiDocument, type OpenApiDocument } from '../openapi';
import { brokenRule, buildResourceTypes, SchemaDefinitionError, updateKinds } from './heat-schema';

const types = buildResourceTypes(openApiDocument(), 'container-orchestration');

describe('the Heat type schema derived from api/openapi.yaml', () => {
  it('publishes the three types at their collections, with a content version', () => {
    expect(Object.keys(types.resource_types).sort()).toEqual([
      'OS::Container::Container',
      'OS::Container::Network',
      'OS::Container::Volume',
    ]);
    expect(types.resource_types['OS::Container::Container']!.path).toBe('/v1/containers');
    expect(types.version).toMatch(/^[0-9a-f]{16}$/);
    expect(buildResourceTypes(openApiDocument(), 'container-orchestration').version).toBe(types.version);
    expect(buildResourceTypes(openApiDocument(), 'other').version).not.toBe(types.version);
  });

  it('maps JSON Schema onto Heat property types and constraints', () => {
    const p = types.resource_types['OS::Container::Container']!.properties;
    expect(p.image).toMatchObject({
      type: 'String',
      required: true,
      update_allowed: true,
      update: 'rebuild',
    });
    expect(p.memory).toMatchObject({ type: 'Integer', constraints: [{ range: { min: 16, max: 4194304 } }] });
    expect(p.cpu).toMatchObject({ type: 'Number', update_allowed: false });
    expect(p.flavor!.constraints).toContainEqual({ custom_constraint: 'nova.flavor' });
    expect(p.restart_policy).toMatchObject({
      default: 'no',
      constraints: [{ allowed_pattern: expect.stringMatching(/^\^/) }],
    });
    expect(p.command).toMatchObject({
      type: 'List',
      schema: { type: 'String' },
      constraints: [{ length: { min: 1 } }],
    });
    expect(p.environment).toMatchObject({ type: 'Map' });
    expect(p.environment!.schema).toBeUndefined();
    const port = (
      p.ports!.schema as {
        schema: Record<string, { type: string; required: boolean; constraints?: unknown[] }>;
      }
    ).schema;
    expect(port.port).toMatchObject({
      type: 'Integer',
      required: true,
      constraints: [{ range: { min: 1, max: 65535 } }],
    });
    expect(port.protocol).toMatchObject({
      default: 'tcp',
      constraints: [{ allowed_values: ['tcp', 'udp', 'sctp'] }],
    });
    // a union of types is Any for Heat; the JSON Schema the plugin also gets covers it
    const hints = types.resource_types['OS::Container::Container']!.json_schema as {
      properties: Record<string, unknown>;
      required?: unknown;
    };
    expect(hints.required).toBeUndefined();
    expect(hints.properties.scheduler_hints).toEqual({
      type: 'object',
      additionalProperties: { type: ['string', 'array'] },
    });
  });

  it('says in each description how an update applies it', () => {
    const c = types.resource_types['OS::Container::Container']!.properties;
    expect(c.name!.description).toMatch(/Updated in place\.$/);
    expect(c.environment!.description).toMatch(/Nova rebuild/);
    expect(c.memory!.description).toMatch(/replaces the resource\.$/);
    expect(updateKinds(types, 'OS::Container::Network')).toMatchObject({
      cidr: 'replace',
      allocation_pools: 'in-place',
    });
  });

  it('lists attributes with Heat attribute types', () => {
    const a = types.resource_types['OS::Container::Container']!.attributes;
    expect(a.addresses).toEqual({ description: expect.any(String), type: 'Map' });
    expect(a.logs!.type).toBe('String');
    expect(types.resource_types['OS::Container::Network']!.attributes.ip_version!.type).toBe('Integer');
  });

  it('carries the cross-property rules, and finds the one broken', () => {
    const rules = types.resource_types['OS::Container::Container']!.rules;
    expect(brokenRule(rules, { flavor: 'm1', memory: 64 })).toMatch(/either flavor/);
    expect(brokenRule(rules, { flavor: 'm1', memory: null })).toBeUndefined();
    expect(brokenRule(rules, { cpu: 1, memory: 64 })).toBeUndefined();
  });

  it('refuses what Heat cannot express rather than dropping it', () => {
    const doc = (schema: Record<string, unknown>): OpenApiDocument => ({
      'x-heat-resource-types': [
        {
          type: 'X::Y',
          collection: 'ys',
          properties: 'P' as never,
          attributes: 'A' as never,
          description: 'd',
        },
      ],
      components: {
        schemas: { P: { type: 'object', properties: { v: schema } }, A: { type: 'object', properties: {} } },
      },
    });
    expect(() =>
      buildResourceTypes(
        doc({
          description: 'd',
          'x-heat-update': 'replace',
          oneOf: [{ type: 'string' }, { type: 'integer' }],
        }),
        's',
      ),
    ).toThrow(SchemaDefinitionError);
    expect(() => buildResourceTypes(doc({ type: 'string', description: 'd' }), 's')).toThrow(/x-heat-update/);
    expect(() => buildResourceTypes(doc({ type: 'string', 'x-heat-update': 'replace' }), 's')).toThrow(
      /description/,
    );
    expect(
      buildResourceTypes(doc({ type: 'string', description: 'd', 'x-heat-update': 'replace' }), 's')
        .resource_types['X::Y']!.path,
    ).toBe('/v1/ys');
  });
});
