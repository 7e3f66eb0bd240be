// JSON-patch as Magnum applies it (magnum/api/controllers/v1/types.py
// JsonPatchType and magnum/api/utils.py apply_jsonpatch): internal and
// mandatory attributes are protected, `add` only fills an attribute that is
// null, and a dict attribute (labels, health_status_reason) given as a
// string is read as a Python literal, because that is what Horizon and the
// CLI send.

import { invalid } from './errors';
import { parsePyLiteral } from './pyliteral';

export interface PatchOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

export interface PatchRules {
  /** paths no patch may touch */
  internal: readonly string[];
  /** paths that may not be removed */
  nonRemovable: readonly string[];
  /** dict attributes whose string value is a Python literal */
  dictPaths: readonly string[];
}

/** Every resource protects these (JsonPatchType.internal_attrs). */
export const BASE_INTERNAL = [
  '/created_at',
  '/id',
  '/links',
  '/updated_at',
  '/uuid',
  '/project_id',
  '/user_id',
];

function patchError(ops: PatchOp[], reason: string) {
  return invalid(`Couldn't apply patch '${JSON.stringify(ops)}'. Reason: ${reason}`);
}

/** Validates each operation as WSME does, then applies them in order to a copy of doc. */
export function applyPatch(
  doc: Record<string, unknown>,
  ops: PatchOp[],
  rules: PatchRules,
): Record<string, unknown> {
  for (const p of ops) {
    if (rules.internal.includes(p.path))
      throw invalid(`'${p.path}' is an internal attribute and can not be updated`);
    if (p.op === 'remove' && rules.nonRemovable.includes(p.path)) {
      throw invalid(`'${p.path}' is a mandatory attribute and can not be removed`);
    }
    if (p.op !== 'remove' && (p.value === undefined || p.value === null)) {
      throw invalid("'add' and 'replace' operations needs value");
    }
  }
  const out = structuredClone(doc);
  for (const p of ops) {
    const parts = p.path.split('/').slice(1);
    const root = parts.length === 1;
    const attr = parts[0]!;
    let value = p.value;
    if (p.op === 'add' && root) {
      if (!(attr in out))
        throw invalid(`Adding a new attribute ${p.path} to the root of the resource is not allowed.`);
      if (out[attr] !== null && out[attr] !== undefined) {
        throw invalid(`The attribute ${p.path} has existed, please use 'replace' operation instead.`);
      }
    }
    if (p.op !== 'remove' && rules.dictPaths.includes(p.path) && typeof value === 'string') {
      try {
        value = parsePyLiteral(value);
      } catch (e) {
        throw patchError(ops, (e as Error).message);
      }
    }
    applyOne(out, parts, p.op, value, () =>
      patchError(ops, `can't ${p.op} a non-existent object '${parts.join('/')}'`),
    );
  }
  return out;
}

function applyOne(
  doc: Record<string, unknown>,
  parts: string[],
  op: PatchOp['op'],
  value: unknown,
  missing: () => Error,
): void {
  let parent: unknown = doc;
  for (const part of parts.slice(0, -1)) {
    if (!parent || typeof parent !== 'object' || Array.isArray(parent) || !(part in parent)) throw missing();
    parent = (parent as Record<string, unknown>)[part];
  }
  if (!parent || typeof parent !== 'object' || Array.isArray(parent)) throw missing();
  const obj = parent as Record<string, unknown>;
  const key = parts[parts.length - 1]!;
  if (op === 'add') obj[key] = value;
  else if (!(key in obj)) throw missing();
  else if (op === 'replace') obj[key] = value;
  else delete obj[key];
}
