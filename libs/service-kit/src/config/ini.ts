/**
 * Parser for oslo.config-style INI files: `[section]` headers, `key = value`
 * (or `key: value`), `#`/`;` comment lines, indented continuation lines, and
 * repeated keys (oslo's MultiStrOpt) kept in order. Section names keep their
 * case except DEFAULT; keys are case-sensitive, as in oslo.config.
 */
export type IniData = Map<string, Map<string, string[]>>;

export class IniSyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}:${line}: ${message}`);
    this.name = 'IniSyntaxError';
  }
}

export function parseIni(text: string, file = '<string>', into: IniData = new Map()): IniData {
  let section: Map<string, string[]> | undefined;
  let last: { values: string[] } | undefined;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    if (/^\s*([#;].*)?$/.test(raw)) {
      return;
    }
    if (/^\s/.test(raw)) {
      // continuation of the previous value (oslo joins with a newline)
      if (!last) throw new IniSyntaxError(file, lineNo, 'continuation line without a key');
      const values = last.values;
      values[values.length - 1] += '\n' + raw.trim();
      return;
    }
    const header = /^\[([^\]]+)\]\s*$/.exec(raw);
    if (header) {
      const name = header[1]!.trim();
      const key = name.toUpperCase() === 'DEFAULT' ? 'DEFAULT' : name;
      section = into.get(key) ?? new Map();
      into.set(key, section);
      last = undefined;
      return;
    }
    const kv = /^([^=:\s][^=:]*?)\s*[=:]\s?(.*)$/.exec(raw);
    if (!kv) throw new IniSyntaxError(file, lineNo, `cannot parse "${raw.trim()}"`);
    if (!section) throw new IniSyntaxError(file, lineNo, 'option outside of any [section]');
    const key = kv[1]!.trim();
    const value = unquote(kv[2]!.trim());
    const values = section.get(key) ?? [];
    values.push(value);
    section.set(key, values);
    last = { values };
  });
  return into;
}

function unquote(v: string): string {
  if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))) {
    return v.slice(1, -1);
  }
  return v;
}
