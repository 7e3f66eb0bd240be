// The /v2 URL space. Repository names contain slashes, so fastify's router
// sees one wildcard and this table, like distribution's regexp router,
// splits the rest into the repository name and the OCI endpoint.

export type OciArea = 'base' | 'catalog' | 'blob' | 'uploads' | 'upload' | 'manifest' | 'tags' | 'referrers';

export interface OciPath {
  area: OciArea;
  /** repository name (undefined for base and catalog) */
  name?: string;
  /** digest, session id or manifest reference */
  arg?: string;
}

const ENDPOINT =
  /^(.+?)\/(?:(blobs\/uploads)\/?|blobs\/uploads\/([^/]+)|blobs\/([^/]+)|manifests\/([^/]+)|(tags\/list)|referrers\/([^/]+))$/;

/** Methods each area answers; anything else is 405 UNSUPPORTED. */
export const METHODS: Record<OciArea, string[]> = {
  base: ['GET', 'HEAD'],
  catalog: ['GET'],
  blob: ['GET', 'HEAD', 'DELETE'],
  uploads: ['POST'],
  upload: ['GET', 'PATCH', 'PUT', 'DELETE'],
  manifest: ['GET', 'HEAD', 'PUT', 'DELETE'],
  tags: ['GET'],
  referrers: ['GET'],
};

/** `rest` is the path after `/v2/`, without the query string. */
export function matchOciPath(rest: string): OciPath | undefined {
  if (rest === '' || rest === '/') return { area: 'base' };
  if (rest === '_catalog') return { area: 'catalog' };
  // endpoint parts have no slash in their argument, so the split is unique
  const m = ENDPOINT.exec(rest);
  if (!m) return undefined;
  const [, name, uploads, session, blob, reference, tags, referrer] = m;
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  if (uploads) return { area: 'uploads', name: name as string };
  if (session) return { area: 'upload', name: name as string, arg: dec(session) };
  if (blob) return { area: 'blob', name: name as string, arg: dec(blob) };
  if (reference) return { area: 'manifest', name: name as string, arg: dec(reference) };
  if (tags) return { area: 'tags', name: name as string };
  if (referrer) return { area: 'referrers', name: name as string, arg: dec(referrer) };
  return undefined;
}
