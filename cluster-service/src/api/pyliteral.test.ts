import { parsePyLiteral, PyLiteralError } from './pyliteral';

describe('parsePyLiteral (ast.literal_eval subset)', () => {
  it('reads the dict reprs Horizon and the CLI send', () => {
    expect(parsePyLiteral("{'kube_tag': 'v1.31.0', 'foo': 'bar'}")).toEqual({
      kube_tag: 'v1.31.0',
      foo: 'bar',
    });
    expect(parsePyLiteral('{"a": "it\'s", \'b\': "x\\"y"}')).toEqual({ a: "it's", b: 'x"y' });
    expect(parsePyLiteral("{'n': 3, 'f': -1.5, 't': True, 'z': None, 'l': [1, (2, 3)]}")).toEqual({
      n: 3,
      f: -1.5,
      t: true,
      z: null,
      l: [1, [2, 3]],
    });
    expect(parsePyLiteral('{}')).toEqual({});
    expect(parsePyLiteral("{'a': 'b',}")).toEqual({ a: 'b' });
  });

  it('refuses what literal_eval refuses', () => {
    for (const bad of ["{'a': b}", "{'a' 'b'}", "{'a': 'b'", 'os.system("x")', "{'a': 'b'} x", ''])
      expect(() => parsePyLiteral(bad)).toThrow(PyLiteralError);
  });
});
