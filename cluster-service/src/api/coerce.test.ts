import { coerceBody, coerceScalar } from './coerce';

const schema = {
  type: 'object',
  properties: {
    node_count: { type: ['integer', 'null'] },
    public: { type: ['boolean', 'null'] },
    name: { type: ['string', 'null'] },
    labels: { type: ['object', 'null'], additionalProperties: { type: ['string', 'integer', 'boolean'] } },
    list: { type: 'array', items: { type: 'integer' } },
  },
};

describe('coerceBody (Horizon sends strings)', () => {
  it('turns integer and boolean strings into values, as WSME does', () => {
    expect(
      coerceBody(
        { node_count: '10', public: 'True', name: '42', labels: { a: 'true', b: '1' }, list: ['1', 2] },
        schema,
      ),
    ).toEqual({ node_count: 10, public: true, name: '42', labels: { a: 'true', b: '1' }, list: [1, 2] });
  });

  it('accepts every spelling oslo bool_from_string(strict) accepts', () => {
    for (const s of ['1', 't', 'TRUE', 'on', 'Y', 'yes'])
      expect(coerceScalar(s, { type: 'boolean' })).toBe(true);
    for (const s of ['0', 'f', 'False', 'OFF', 'n', 'no'])
      expect(coerceScalar(s, { type: 'boolean' })).toBe(false);
  });

  it('leaves what it cannot convert for the schema to refuse', () => {
    expect(coerceBody({ node_count: '-x', public: 'maybe', name: 5 }, schema)).toEqual({
      node_count: '-x',
      public: 'maybe',
      name: 5,
    });
    expect(coerceScalar('1.5', { type: 'integer' })).toBe('1.5');
    expect(coerceScalar('', { type: ['integer', 'null'] })).toBe('');
  });

  it('keeps negative numbers negative (the schema refuses them, not the coercion)', () => {
    expect(coerceBody({ node_count: '-1' }, schema)).toEqual({ node_count: -1 });
  });

  it('does not modify the input', () => {
    const input = { node_count: '3' };
    coerceBody(input, schema);
    expect(input).toEqual({ node_count: '3' });
  });
});
