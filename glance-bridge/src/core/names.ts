// Repository names, tags and digests as the OCI distribution spec writes
// them, plus Berth's one addition: the first path component of a repository
// is its Keystone project (by name or id), so every name is <project>/<repo>.

import { ociError } from './errors';

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
/** the spec's `<name>` grammar */
export const NAME_RE = new RegExp(`^${COMPONENT}(?:\\/${COMPONENT})*$`);
export const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** any well-formed digest (algorithm:encoded), supported or not */
export const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const HEX_LENGTH: Record<string, number> = { sha256: 64, sha512: 128 };

/** Longest repository name accepted: clients limit `host:port/name` to 255 characters. */
export const MAX_NAME_LENGTH = 230;

export type DigestAlgorithm = 'sha256' | 'sha512';

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
  /** `algorithm:hex` */
  value: string;
}

/** A supported digest (sha256 or sha512, lowercase hex of the right length), else undefined. */
export function parseDigest(s: string): ParsedDigest | undefined {
  const i = s.indexOf(':');
  if (i < 0) return undefined;
  const algorithm = s.slice(0, i);
  const hex = s.slice(i + 1);
  const len = HEX_LENGTH[algorithm];
  if (len === undefined || hex.length !== len || !/^[a-f0-9]+$/.test(hex)) return undefined;
  return { algorithm: algorithm as DigestAlgorithm, hex, value: s };
}

/** A digest the client sent: DIGEST_INVALID when malformed or of an algorithm we do not compute. */
export function requireDigest(s: string | undefined, what = 'digest'): ParsedDigest {
  if (!s) throw ociError('DIGEST_INVALID', `${what} missing`);
  const d = parseDigest(s);
  if (!d) {
    throw ociError(
      'DIGEST_INVALID',
      DIGEST_RE.test(s) ? `unsupported ${what} algorithm: ${s}` : `invalid ${what}: ${s}`,
      { digest: s, supported: Object.keys(HEX_LENGTH) },
    );
  }
  return d;
}

export interface RepositoryName {
  /** the full name as the client wrote it: `<project>/<repo...>` */
  full: string;
  /** first component: the Keystone project's name or id */
  project: string;
  /** the rest: the repository inside the project */
  repo: string;
}

/** Validates a `<name>`: NAME_INVALID unless it is spec-valid and has a project and a repository part. */
export function parseRepositoryName(full: string): RepositoryName {
  if (full.length > MAX_NAME_LENGTH || !NAME_RE.test(full)) {
    throw ociError('NAME_INVALID', `invalid repository name: ${full.slice(0, 300)}`, {
      name: full.slice(0, 300),
      rule: 'lowercase components [a-z0-9] separated by . _ __ - and /, at most 230 characters',
    });
  }
  const slash = full.indexOf('/');
  if (slash < 0) {
    throw ociError('NAME_INVALID', `repository names are <project>/<name>, got "${full}"`, {
      name: full,
      rule: 'the first component is your Keystone project (name or id)',
    });
  }
  return { full, project: full.slice(0, slash), repo: full.slice(slash + 1) };
}

/** Whether a project name can be written as the first component of a repository name. */
export function isNameComponent(s: string): boolean {
  return new RegExp(`^${COMPONENT}$`).test(s);
}

export type Reference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: ParsedDigest };

/**
 * A manifest `<reference>`: a digest if it has a colon, else a tag. Returns
 * undefined for something that is neither (the caller picks 400 or 404).
 */
export function parseReference(s: string): Reference | { kind: 'invalid'; reason: string } {
  if (s.includes(':')) {
    const digest = parseDigest(s);
    if (digest) return { kind: 'digest', digest };
    return {
      kind: 'invalid',
      reason: DIGEST_RE.test(s) ? `unsupported digest algorithm: ${s}` : `invalid digest: ${s}`,
    };
  }
  if (TAG_RE.test(s)) return { kind: 'tag', tag: s };
  return { kind: 'invalid', reason: `invalid tag: ${s.slice(0, 200)}` };
}
