// Reading a pushed manifest: which of the four supported kinds it is, whether
// it is well-formed (against the schemas of api/openapi.yaml), and what it
// points at: the blobs and child manifests that must exist, the subject for
// the referrers API, and whether Nova can boot it.

import { createHash } from 'node:crypto';

import { describeAjvErrors } from '@berth/service-kit';

import { contract } from '../openapi';
import { ociError } from './errors';
import type { DigestAlgorithm } from './names';

export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

const SCHEMA_OF = {
  [MediaTypes.ociManifest]: 'OciImageManifest',
  [MediaTypes.ociIndex]: 'OciImageIndex',
  [MediaTypes.dockerManifest]: 'DockerManifest',
  [MediaTypes.dockerList]: 'DockerManifestList',
} as const;

export type ManifestMediaType = keyof typeof SCHEMA_OF;

/** Layers that live outside the registry (Windows base layers, "nondistributable" OCI layers). */
const FOREIGN_LAYER = /(rootfs\.foreign\.diff|\.nondistributable\.)/;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: { architecture: string; os: string; variant?: string };
}

export interface ParsedManifest {
  mediaType: ManifestMediaType;
  /** image manifests have a config and layers; indexes list manifests */
  kind: 'image' | 'index';
  /** blobs that must be in the repository (config and distributable layers) */
  blobs: Descriptor[];
  /** child manifests that must be in the repository (indexes) */
  manifests: Descriptor[];
  subject: string | undefined;
  /** for the referrers API: artifactType, else (image manifests) the config media type */
  artifactType: string | undefined;
  annotations: Record<string, string> | undefined;
  configMediaType: string | undefined;
  /** a container image (or a list of them) Nova can boot, not an artifact */
  runnable: boolean;
}

function stripParams(contentType: string | undefined): string | undefined {
  const t = contentType?.split(';')[0]?.trim().toLowerCase();
  return t ? t : undefined;
}

/** Parses and validates manifest bytes; MANIFEST_INVALID with a reason when they are not acceptable. */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw ociError('MANIFEST_INVALID', 'manifest is not valid JSON', { reason: (e as Error).message });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw ociError('MANIFEST_INVALID', 'manifest is not a JSON object');
  }
  const obj = doc as Record<string, unknown>;
  const declared = typeof obj.mediaType === 'string' ? obj.mediaType : undefined;
  // generic types say nothing about the manifest kind
  const raw = stripParams(contentType);
  const header = raw === 'application/octet-stream' || raw === 'application/json' ? undefined : raw;
  if (declared && header && declared !== header) {
    throw ociError('MANIFEST_INVALID', 'the mediaType field and the Content-Type header differ', {
      mediaType: declared,
      contentType: header,
    });
  }
  let mediaType = declared ?? header;
  // OCI manifests may omit mediaType; tell the two OCI kinds apart by shape
  mediaType ??= Array.isArray(obj.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest;
  if (mediaType === MediaTypes.dockerSchema1 || mediaType === MediaTypes.dockerSchema1Signed) {
    throw ociError('MANIFEST_INVALID', 'Docker schema 1 manifests are not supported; push schema 2 or OCI', {
      mediaType,
    });
  }
  const schema = SCHEMA_OF[mediaType as ManifestMediaType];
  if (!schema) {
    throw ociError('MANIFEST_INVALID', `unsupported manifest media type ${mediaType}`, {
      mediaType,
      supported: Object.keys(SCHEMA_OF),
    });
  }
  const validate = contract.validator(schema);
  if (!validate(doc)) {
    throw ociError('MANIFEST_INVALID', `manifest does not match the ${mediaType} schema`, {
      errors: describeAjvErrors(validate.errors),
    });
  }
  const m = doc as {
    config?: Descriptor;
    layers?: Descriptor[];
    manifests?: Descriptor[];
    subject?: Descriptor;
    artifactType?: string;
    annotations?: Record<string, string>;
  };
  const kind = m.manifests ? 'index' : 'image';
  const mt = mediaType as ManifestMediaType;
  if (kind === 'image') {
    const config = m.config as Descriptor;
    const layers = (m.layers ?? []).filter((l) => !(l.urls?.length && FOREIGN_LAYER.test(l.mediaType)));
    const runnable =
      !m.subject &&
      !m.artifactType &&
      (config.mediaType === MediaTypes.ociConfig || config.mediaType === MediaTypes.dockerConfig);
    return {
      mediaType: mt,
      kind,
      blobs: [config, ...layers],
      manifests: [],
      subject: m.subject?.digest,
      artifactType: m.artifactType ?? config.mediaType,
      annotations: m.annotations,
      configMediaType: config.mediaType,
      runnable,
    };
  }
  const children = m.manifests ?? [];
  return {
    mediaType: mt,
    kind,
    blobs: [],
    manifests: children,
    subject: m.subject?.digest,
    artifactType: m.artifactType,
    annotations: m.annotations,
    configMediaType: undefined,
    runnable:
      !m.subject &&
      !m.artifactType &&
      children.some(
        (c) => c.mediaType === MediaTypes.ociManifest || c.mediaType === MediaTypes.dockerManifest,
      ),
  };
}

export function digestOf(bytes: Buffer, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Media types an Accept header allows; undefined means anything (absent, or a wildcard). */
export function acceptedTypes(accept: string | string[] | undefined): Set<string> | undefined {
  const raw = Array.isArray(accept) ? accept.join(',') : accept;
  if (!raw) return undefined;
  const types = new Set<string>();
  for (const part of raw.split(',')) {
    const [type, ...params] = part.split(';');
    const t = type?.trim().toLowerCase();
    if (!t) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q && Number(q.slice(2)) === 0) continue;
    // application/json is what generic HTTP clients send: not a preference among manifest kinds
    if (t === '*/*' || t === 'application/*' || t === 'application/json') return undefined;
    types.add(t);
  }
  return types.size ? types : undefined;
}
