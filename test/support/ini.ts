// oslo-style INI files for the private service processes the suites start.
import { writeFileSync } from 'node:fs';

export type IniSections = Record<string, Record<string, string>>;

/** Writes `base` with `overrides` merged in per section (a key in both: the override's value). */
export function writeIni(file: string, base: IniSections, overrides: IniSections = {}): void {
  const sections: IniSections = { ...base };
  for (const [s, kv] of Object.entries(overrides)) sections[s] = { ...(sections[s] ?? {}), ...kv };
  writeFileSync(
    file,
    Object.entries(sections)
      .map(
        ([s, kv]) =>
          `[${s}]\n${Object.entries(kv)
            .map(([k, v]) => `${k} = ${v}`)
            .join('\n')}\n`,
      )
      .join('\n'),
  );
}
