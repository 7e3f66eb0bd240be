/**
 * Typed option declarations, in the spirit of oslo.config: each service
 * declares its options once (type, default, help, secret) and gets back a
 * typed config object, its `--help` text and a sample config file.
 */
export interface OptBase<T> {
  readonly kind: string;
  readonly help: string;
  readonly default?: T;
  readonly required?: boolean;
  /** never printed (passwords, keys) */
  readonly secret?: boolean;
  readonly parse: (raw: string[]) => T;
}

export type Opt<T> = OptBase<T>;
export type OptValue<O> = O extends Opt<infer T> ? T : never;
export type SectionSpec = Record<string, Opt<unknown>>;
export type ConfigSpec = Record<string, SectionSpec>;
export type ConfigOf<S extends ConfigSpec> = { [G in keyof S]: { [K in keyof S[G]]: OptValue<S[G][K]> } };

export class ConfigValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigValueError';
  }
}

const lastOf = (raw: string[]): string => raw[raw.length - 1] ?? '';

interface Common<T> {
  help: string;
  default?: T;
  required?: boolean;
  secret?: boolean;
}

export const opt = {
  string(o: Common<string> & { choices?: readonly string[] }): Opt<string> {
    return {
      kind: o.choices ? `string (one of ${o.choices.join(', ')})` : 'string',
      ...o,
      parse: (raw) => {
        const v = lastOf(raw);
        if (o.choices && !o.choices.includes(v)) {
          throw new ConfigValueError(`must be one of ${o.choices.join(', ')}, got "${v}"`);
        }
        return v;
      },
    };
  },
  int(o: Common<number> & { min?: number; max?: number }): Opt<number> {
    return {
      kind: 'integer',
      ...o,
      parse: (raw) => {
        const s = lastOf(raw).trim();
        if (!/^-?\d+$/.test(s)) throw new ConfigValueError(`must be an integer, got "${s}"`);
        const n = Number(s);
        if (o.min !== undefined && n < o.min) throw new ConfigValueError(`must be >= ${o.min}, got ${n}`);
        if (o.max !== undefined && n > o.max) throw new ConfigValueError(`must be <= ${o.max}, got ${n}`);
        return n;
      },
    };
  },
  float(o: Common<number> & { min?: number }): Opt<number> {
    return {
      kind: 'float',
      ...o,
      parse: (raw) => {
        const n = Number(lastOf(raw).trim());
        if (!Number.isFinite(n)) throw new ConfigValueError(`must be a number, got "${lastOf(raw)}"`);
        if (o.min !== undefined && n < o.min) throw new ConfigValueError(`must be >= ${o.min}, got ${n}`);
        return n;
      },
    };
  },
  bool(o: Common<boolean>): Opt<boolean> {
    return {
      kind: 'boolean',
      ...o,
      parse: (raw) => {
        const s = lastOf(raw).trim().toLowerCase();
        // the spellings oslo.config's Boolean type accepts
        if (['true', '1', 'yes', 'on'].includes(s)) return true;
        if (['false', '0', 'no', 'off'].includes(s)) return false;
        throw new ConfigValueError(`must be true or false, got "${s}"`);
      },
    };
  },
  /** comma-separated list (oslo ListOpt) */
  list(o: Common<string[]>): Opt<string[]> {
    return {
      kind: 'list',
      ...o,
      parse: (raw) =>
        lastOf(raw)
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0),
    };
  },
  /** repeated key (oslo MultiStrOpt): every occurrence is kept */
  multi(o: Common<string[]>): Opt<string[]> {
    return { kind: 'multi-valued', ...o, parse: (raw) => raw.map((s) => s.trim()) };
  },
  /** `key:value,key:value` (oslo DictOpt) */
  dict(o: Common<Record<string, string>>): Opt<Record<string, string>> {
    return {
      kind: 'dict',
      ...o,
      parse: (raw) => {
        const out: Record<string, string> = {};
        for (const part of lastOf(raw).split(',')) {
          if (!part.trim()) continue;
          const idx = part.indexOf(':');
          if (idx < 0) throw new ConfigValueError(`"${part.trim()}" is not key:value`);
          out[part.slice(0, idx).trim()] = part.slice(idx + 1).trim();
        }
        return out;
      },
    };
  },
};
