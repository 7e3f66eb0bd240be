// Horizon and the magnum CLI send a labels patch as str(dict), a Python
// literal such as "{'kube_tag': 'v1.31.0', 'x': True}", and Magnum reads it
// with ast.literal_eval. This is the subset of literal_eval that such values
// use: dicts, lists, tuples, strings, numbers, True/False/None.

export class PyLiteralError extends Error {}

export function parsePyLiteral(text: string): unknown {
  const p = new Parser(text);
  p.ws();
  const v = p.value();
  p.ws();
  if (!p.done()) p.fail('unexpected trailing characters');
  return v;
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  done(): boolean {
    return this.i >= this.s.length;
  }

  fail(msg: string): never {
    throw new PyLiteralError(`malformed node or string at position ${this.i}: ${msg}`);
  }

  ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }

  value(): unknown {
    const c = this.s[this.i];
    if (c === '{') return this.dict();
    if (c === '[') return this.seq(']');
    if (c === '(') return this.seq(')');
    if (c === "'" || c === '"') return this.str();
    if (c !== undefined && /[-+0-9.]/.test(c)) return this.num();
    for (const [word, v] of [
      ['True', true],
      ['False', false],
      ['None', null],
    ] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    return this.fail('expected a literal');
  }

  private dict(): Record<string, unknown> {
    this.i++;
    const out: Record<string, unknown> = {};
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      const k = this.value();
      if (typeof k !== 'string' && typeof k !== 'number') this.fail('dict keys must be strings or numbers');
      this.ws();
      if (this.s[this.i] !== ':') this.fail("expected ':'");
      this.i++;
      this.ws();
      out[String(k)] = this.value();
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') this.fail("expected ',' or '}'");
      this.ws();
      if (this.s[this.i] === '}') {
        this.i++;
        return out;
      }
    }
  }

  private seq(close: string): unknown[] {
    this.i++;
    const out: unknown[] = [];
    this.ws();
    if (this.s[this.i] === close) {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value());
      this.ws();
      const c = this.s[this.i++];
      if (c === close) return out;
      if (c !== ',') this.fail(`expected ',' or '${close}'`);
      this.ws();
      if (this.s[this.i] === close) {
        this.i++;
        return out;
      }
    }
  }

  private str(): string {
    const q = this.s[this.i++]!;
    let out = '';
    for (;;) {
      const c = this.s[this.i++];
      if (c === undefined) this.fail('unterminated string');
      if (c === q) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.s[this.i++];
      const simple: Record<string, string> = {
        n: '\n',
        t: '\t',
        r: '\r',
        '\\': '\\',
        "'": "'",
        '"': '"',
        '0': '\0',
      };
      if (e !== undefined && e in simple) out += simple[e];
      else if (e === 'x' || e === 'u') {
        const len = e === 'x' ? 2 : 4;
        const hex = this.s.slice(this.i, this.i + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) this.fail('bad escape');
        out += String.fromCharCode(parseInt(hex, 16));
        this.i += len;
      } else if (e === '\n') {
        // line continuation
      } else out += `\\${e ?? ''}`;
    }
  }

  private num(): number {
    const m = /^[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)/.exec(this.s.slice(this.i));
    if (!m) this.fail('bad number');
    this.i += m[0].length;
    return Number(m[0]);
  }
}
