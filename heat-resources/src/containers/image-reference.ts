// What a container's `image` names, and the Glance image it boots:
//   - a Glance image id, or a name the caller sees;
//   - a glance-bridge reference `[registry/]<project>/<repository>(:<tag>|@<digest>)`:
//     glance-bridge registers each pushed tag and digest as a small Glance boot
//     image whose properties say where the bytes are (berth_oci_repository =
//     `<project id>/<repository>`, berth_oci_tag, berth_oci_digest).
// Only the caller's own project's repositories resolve: a reference to
// another project is refused rather than searched for.

import type { GlanceClient, GlanceImage } from '@berth/openstack-clients';

import { invalidProperties, upstream } from '../core/errors';

export interface RegistryReference {
  registry?: string;
  project: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha(256:[a-f0-9]{64}|512:[a-f0-9]{128})$/;

/** A registry reference, or undefined when the string is not one (then it is a Glance name). */
export function parseRegistryReference(ref: string): RegistryReference | undefined {
  if (!ref.includes('/')) return undefined;
  let rest = ref;
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return undefined;
  }
  const parts = rest.split('/');
  // docker's rule: a first component with a dot or a colon, or localhost, is a registry host
  let registry: string | undefined;
  if (parts.length > 2 && (/[.:]/.test(parts[0]!) || parts[0] === 'localhost')) registry = parts.shift();
  const last = parts.pop()!;
  const colon = last.indexOf(':');
  const lastName = colon >= 0 ? last.slice(0, colon) : last;
  if (colon >= 0) tag = last.slice(colon + 1);
  parts.push(lastName);
  if (parts.length < 2 || !parts.every((p) => COMPONENT.test(p))) return undefined;
  if (tag !== undefined && !TAG.test(tag)) return undefined;
  const out: RegistryReference = { project: parts[0]!, repository: parts.slice(1).join('/') };
  if (registry) out.registry = registry;
  if (digest) out.digest = digest;
  else out.tag = tag ?? 'latest';
  return out;
}

export interface ImageOwner {
  projectId: string;
  projectName?: string | undefined;
}

/** The Glance image a container's `image` property names, as the caller sees it. */
export async function resolveImage(
  glance: GlanceClient,
  owner: ImageOwner,
  ref: string,
): Promise<GlanceImage> {
  if (UUID.test(ref)) {
    const byId = await upstream('Glance', () => glance.findImage(ref));
    if (byId) return byId;
  }
  const reg = parseRegistryReference(ref);
  if (reg) {
    if (reg.project !== owner.projectId && reg.project !== owner.projectName) {
      throw invalidProperties(
        `image ${ref} names project ${reg.project}: a container boots repositories of its own project only`,
      );
    }
    const props: Record<string, string> = { berth_oci_repository: `${owner.projectId}/${reg.repository}` };
    if (reg.digest) props.berth_oci_digest = reg.digest;
    else props.berth_oci_tag = reg.tag!;
    const found = await upstream('Glance', () => glance.listImagesByProperties(props, { status: 'active' }));
    const image = found[0];
    if (!image) {
      throw invalidProperties(
        `image ${ref}: no boot image for it in Glance (was it pushed to glance-bridge with register_on_push on?)`,
      );
    }
    return image;
  }
  const named = await upstream('Glance', () => glance.listImages({ name: ref }));
  if (named.length > 1) throw invalidProperties(`more than one image is named ${ref}; use its id`);
  if (!named[0]) throw invalidProperties(`image ${ref} not found`);
  return named[0];
}
