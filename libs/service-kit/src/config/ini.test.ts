import { IniSyntaxError, parseIni } from './ini';

describe('parseIni', () => {
  it('reads sections, comments, both separators and quoted values', () => {
    const d = parseIni(
      [
        '# comment',
        '[default]',
        'debug = true',
        '; other comment',
        '[agent]',
        'host: node-1',
        'name = "a b"',
      ].join('\n'),
    );
    expect(d.get('DEFAULT')?.get('debug')).toEqual(['true']);
    expect(d.get('agent')?.get('host')).toEqual(['node-1']);
    expect(d.get('agent')?.get('name')).toEqual(['a b']);
  });

  it('joins indented continuation lines with a newline, as oslo.config does', () => {
    const d = parseIni('[s]\nmotd = first\n   second\n\tthird\n');
    expect(d.get('s')?.get('motd')).toEqual(['first\nsecond\nthird']);
  });

  it('keeps every value of a repeated key in order (MultiStrOpt)', () => {
    const d = parseIni('[s]\nplugin_dirs = /a\nplugin_dirs = /b\n');
    expect(d.get('s')?.get('plugin_dirs')).toEqual(['/a', '/b']);
  });

  it('keeps an empty value empty', () => {
    expect(parseIni('[s]\nmemcached_servers =\n').get('s')?.get('memcached_servers')).toEqual(['']);
  });

  it('names the file and line of a syntax error', () => {
    expect(() => parseIni('[s]\nno separator here\n', 'x.conf')).toThrow(IniSyntaxError);
    expect(() => parseIni('[s]\nno separator here\n', 'x.conf')).toThrow('x.conf:2');
    expect(() => parseIni('key = 1\n', 'y.conf')).toThrow('outside of any [section]');
    expect(() => parseIni('  indented\n', 'z.conf')).toThrow('continuation line without a key');
  });
});
