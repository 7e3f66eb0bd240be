import { acceptedTypes, MediaTypes, parseManifest } from './manifest';
import { RegistryError } from './errors';

const d = (mediaType: string, n = 1, extra: Record<string, unknown> = {}) => ({
  mediaType,
  digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
  size: 10 * n,
  ...extra,
});
const buf = (o: unknown) => Buffer.from(JSON.stringify(o));
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as RegistryError).code;
  }
  return 'no error';
};

describe('parseManifest', () => {
  it('reads an OCI image manifest: config and layers to check, runnable, artifactType from the config', () => {
    const m = parseManifest(
      buf({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: d(MediaTypes.ociConfig, 1),
        layers: [d('application/vnd.oci.image.layer.v1.tar+gzip', 2)],
      }),
      MediaTypes.ociManifest,
    );
    expect(m.kind).toBe('image');
    expect(m.blobs.map((b) => b.size)).toEqual([10, 20]);
    expect(m.runnable).toBe(true);
    expect(m.artifactType).toBe(MediaTypes.ociConfig);
  });

  it('takes the type from Content-Type or the shape when mediaType is absent', () => {
    expect(parseManifest(buf({ schemaVersion: 2, manifests: [] }), undefined).mediaType).toBe(
      MediaTypes.ociIndex,
    );
    expect(
      parseManifest(
        buf({ schemaVersion: 2, config: d(MediaTypes.ociConfig), layers: [] }),
        'application/json',
      ).mediaType,
    ).toBe(MediaTypes.ociManifest);
  });

  it('skips foreign layers with urls, and marks artifacts and referrers as not runnable', () => {
    const m = parseManifest(
      buf({
        schemaVersion: 2,
        mediaType: MediaTypes.dockerManifest,
        config: d(MediaTypes.dockerConfig),
        layers: [
          d('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 3, { urls: ['https://x'] }),
          d('application/vnd.docker.image.rootfs.diff.tar.gzip', 4),
        ],
      }),
      MediaTypes.dockerManifest,
    );
    expect(m.blobs).toHaveLength(2);
    const art = parseManifest(
      buf({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        artifactType: 'x/y',
        config: d('application/vnd.oci.empty.v1+json'),
        layers: [],
        subject: d(MediaTypes.ociManifest, 5),
      }),
      MediaTypes.ociManifest,
    );
    expect(art.runnable).toBe(false);
    expect(art.subject).toBe(d('', 5).digest);
    expect(art.artifactType).toBe('x/y');
  });

  it('reads indexes: children to check, runnable when they are images', () => {
    const m = parseManifest(
      buf({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [d(MediaTypes.ociManifest, 6)] }),
      MediaTypes.ociIndex,
    );
    expect(m.kind).toBe('index');
    expect(m.manifests).toHaveLength(1);
    expect(m.runnable).toBe(true);
  });

  it.each([
    ['not JSON', Buffer.from('{'), MediaTypes.ociManifest],
    ['an array', buf([1]), MediaTypes.ociManifest],
    [
      'schemaVersion 1',
      buf({ schemaVersion: 1, config: d(MediaTypes.ociConfig), layers: [] }),
      MediaTypes.ociManifest,
    ],
    [
      'a bad digest',
      buf({ schemaVersion: 2, config: { ...d(MediaTypes.ociConfig), digest: 'nope' }, layers: [] }),
      MediaTypes.ociManifest,
    ],
    [
      'a negative size',
      buf({ schemaVersion: 2, config: { ...d(MediaTypes.ociConfig), size: -1 }, layers: [] }),
      MediaTypes.ociManifest,
    ],
    [
      'a list without platforms',
      buf({ schemaVersion: 2, mediaType: MediaTypes.dockerList, manifests: [d(MediaTypes.dockerManifest)] }),
      MediaTypes.dockerList,
    ],
    [
      'mismatched Content-Type',
      buf({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: d(MediaTypes.ociConfig),
        layers: [],
      }),
      MediaTypes.dockerManifest,
    ],
    ['an unknown type', buf({ schemaVersion: 2 }), 'application/x-thing'],
    ['schema 1', buf({ schemaVersion: 1 }), MediaTypes.dockerSchema1Signed],
  ])('refuses %s with MANIFEST_INVALID', (_what, bytes, type) => {
    expect(code(() => parseManifest(bytes, type))).toBe('MANIFEST_INVALID');
  });
});

describe('acceptedTypes', () => {
  it('reads Accept lists, repeated headers and q=0, and treats wildcards and application/json as anything', () => {
    expect(acceptedTypes(`${MediaTypes.ociManifest}, ${MediaTypes.ociIndex};q=0.5`)).toEqual(
      new Set([MediaTypes.ociManifest, MediaTypes.ociIndex]),
    );
    expect(acceptedTypes([MediaTypes.dockerManifest, MediaTypes.dockerList])).toEqual(
      new Set([MediaTypes.dockerManifest, MediaTypes.dockerList]),
    );
    expect(acceptedTypes(`${MediaTypes.ociManifest}, ${MediaTypes.ociIndex};q=0`)).toEqual(
      new Set([MediaTypes.ociManifest]),
    );
    expect(acceptedTypes(undefined)).toBeUndefined();
    expect(acceptedTypes(`${MediaTypes.ociManifest}, */*`)).toBeUndefined();
    expect(acceptedTypes('application/json')).toBeUndefined();
  });
});
