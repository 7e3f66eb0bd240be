// Cluster templates: create, patch, delete and lookup, with Magnum's checks
// (magnum/api/controllers/v1/cluster_template.py, api/validation.py).

import { randomInt, randomUUID } from 'node:crypto';
import { isIPv4 } from 'node:net';

import { ApiError } from '@berth/service-kit';
import type { RequestContext } from 'keystone-client-ts';

import type { components } from '../generated/api';
import { conflict, invalid, invalidInput, templateNotFound } from '../api/errors';
import { applyPatch, BASE_INTERNAL, type PatchOp } from '../api/jsonpatch';
import { requireOwnerOrAdmin, requireProject } from '../api/policy';
import { isUuidLike, scopeOf } from '../api/request';
import type { TemplateRow } from '../db/templates';
import { bool, nowIso, parseJson } from '../db/util';
import { ResourceValidator } from '../openstack/resources';
import type { Deps } from './deps';
import { validateAgainst } from './validate';

type TemplateFields = components['schemas']['ClusterTemplateFields'];

const GREEK = [
  'alpha',
  'beta',
  'gamma',
  'delta',
  'epsilon',
  'zeta',
  'eta',
  'theta',
  'iota',
  'kappa',
  'lambda',
  'mu',
  'nu',
  'xi',
  'omicron',
  'pi',
  'rho',
  'sigma',
  'tau',
  'upsilon',
  'phi',
  'chi',
  'psi',
  'omega',
];

/** Magnum's NameGenerator: "zeta-22" plus a suffix. */
export function generatedName(suffix: string): string {
  return `${GREEK[randomInt(GREEK.length)]}-${randomInt(1, 25)}-${suffix}`;
}

/** Labels are strings, as Magnum's DictOfStringsField makes them (True -> "True"). */
export function stringLabels(labels: Record<string, unknown> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) {
    out[k] = v === true ? 'True' : v === false ? 'False' : String(v);
  }
  return out;
}

interface CoeRules {
  networkDrivers: string[];
  volumeDrivers: string[];
  allowed: string[];
  defaultNetwork: string;
}

function coeRules(deps: Deps, coe: string): CoeRules {
  const c = deps.config.cluster_template;
  if (coe === 'kubernetes') {
    return {
      networkDrivers: ['flannel', 'calico'],
      volumeDrivers: ['cinder'],
      allowed: c.kubernetes_allowed_network_drivers,
      defaultNetwork: c.kubernetes_default_network_driver,
    };
  }
  if (coe === 'swarm' || coe === 'swarm-mode') {
    return {
      networkDrivers: ['docker', 'flannel'],
      volumeDrivers: ['rexray'],
      allowed: c.swarm_allowed_network_drivers,
      defaultNetwork: c.swarm_default_network_driver,
    };
  }
  throw invalid(`Requested COE type ${coe} is not supported.`);
}

/** Magnum's validators for drivers, DNS and storage (api/validation.py, common/utils.py). */
function checkFields(deps: Deps, t: TemplateFields & { coe: string }): { network_driver: string } {
  const rules = coeRules(deps, t.coe);
  const network = t.network_driver || rules.defaultNetwork;
  if (!rules.networkDrivers.includes(network)) {
    throw invalid(
      `Network driver type ${network} is not supported, expecting a ${[...rules.networkDrivers, 'unspecified'].join('/')} network driver.`,
    );
  }
  if (!rules.allowed.includes('all') && !rules.allowed.includes(network)) {
    throw invalid(
      `Network driver type ${network} is not allowed, expecting a ${[...rules.allowed, 'unspecified'].join('/')} network driver. `,
    );
  }
  if (t.volume_driver && !rules.volumeDrivers.includes(t.volume_driver)) {
    throw invalid(
      `Volume driver type ${t.volume_driver} is not supported, expecting a ${[...rules.volumeDrivers, 'unspecified'].join('/')} volume driver.`,
    );
  }
  if (t.dns_nameserver !== null && t.dns_nameserver !== undefined) {
    if (!t.dns_nameserver.split(',').every((d) => isIPv4(d.trim()))) {
      throw invalidInput(
        'dns_nameserver',
        t.dns_nameserver,
        `Expected a single dns address or comma separated dns list, but received ${t.dns_nameserver}.`,
      );
    }
  }
  if (t.docker_storage_driver === 'devicemapper' && (!t.docker_volume_size || t.docker_volume_size < 3)) {
    throw invalid(
      `docker volume size ${t.docker_volume_size ?? 'None'} GB is not valid, expecting minimum value 3GB for devicemapper storage driver.`,
    );
  }
  const strategy = (t.labels ?? {}).swarm_strategy;
  if (typeof strategy === 'string') {
    const bad = strategy.split(/\s+/).filter((s) => s && !['spread', 'binpack', 'random'].includes(s));
    if (bad.length) {
      throw invalid(
        `property "labels/swarm_strategy" with value "${bad.join(' ')}" is not supported, supported values are: spread, binpack, random, unspecified`,
      );
    }
  }
  return { network_driver: network };
}

/** A template by uuid or name, as the caller may see it (404, or 409 for an ambiguous name). */
export async function findTemplate(deps: Deps, ctx: RequestContext, ident: string): Promise<TemplateRow> {
  const scope = scopeOf(ctx);
  if (isUuidLike(ident)) {
    const t = await deps.templates.byUuid(scope, ident);
    if (!t) throw templateNotFound(ident);
    return t;
  }
  const found = await deps.templates.byName(scope, ident);
  if (found.length > 1) {
    throw conflict(
      'Multiple ClusterTemplates exist with same name. Please use the ClusterTemplate uuid instead.',
    );
  }
  if (!found[0]) throw templateNotFound(ident);
  return found[0];
}

export async function createTemplate(
  deps: Deps,
  ctx: RequestContext,
  body: TemplateFields & { coe: string; image_id: string },
) {
  const project = requireProject(ctx, 'clustertemplate:create');
  if (!['vm', 'bm'].includes(body.server_type ?? 'vm'))
    throw invalid(`Server type ${body.server_type} is not supported.`);
  const { network_driver } = checkFields(deps, body);
  if ((body.public || body.hidden) && !ctx.isAdmin) {
    throw new ApiError(
      403,
      'ClusterTemplatePublishDenied',
      'Not authorized to set public or hidden flag for cluster template.',
    );
  }
  const check = new ResourceValidator(
    await deps.keystone.userSession(ctx),
    deps.config.compute.interface as 'public',
  );
  const image = await check.image(body.image_id);
  await check.flavor(body.flavor_id);
  await check.flavor(body.master_flavor_id);
  await check.keypair(body.keypair_id);
  const serverType = body.server_type ?? 'vm';
  // a template no driver can serve is refused now, not at cluster create
  deps.drivers.select(serverType, image.osDistro, body.coe);
  return deps.templates.insert({
    uuid: randomUUID(),
    project_id: project,
    user_id: ctx.userId,
    name: body.name || generatedName('template'),
    image_id: body.image_id,
    flavor_id: body.flavor_id ?? null,
    master_flavor_id: body.master_flavor_id ?? null,
    keypair_id: body.keypair_id ?? null,
    external_network_id: body.external_network_id ?? null,
    fixed_network: body.fixed_network ?? null,
    fixed_subnet: body.fixed_subnet ?? null,
    network_driver,
    volume_driver: body.volume_driver ?? null,
    dns_nameserver: body.dns_nameserver ?? null,
    apiserver_port: body.apiserver_port ?? null,
    docker_volume_size: body.docker_volume_size ?? null,
    docker_storage_driver: body.docker_storage_driver ?? null,
    cluster_distro: image.osDistro,
    coe: body.coe,
    http_proxy: body.http_proxy ?? null,
    https_proxy: body.https_proxy ?? null,
    no_proxy: body.no_proxy ?? null,
    registry_enabled: bool(body.registry_enabled),
    labels: JSON.stringify(stringLabels(body.labels)),
    tls_disabled: bool(body.tls_disabled),
    public: bool(body.public),
    server_type: serverType,
    insecure_registry: body.insecure_registry ?? null,
    master_lb_enabled: bool(body.master_lb_enabled),
    floating_ip_enabled: body.floating_ip_enabled === false ? 0 : 1,
    hidden: bool(body.hidden),
    tags: body.tags ?? null,
    created_at: nowIso(),
    updated_at: null,
  });
}

/** The attributes a patch may produce, as the document a patch applies to. */
const PATCHABLE = [
  'name',
  'coe',
  'image_id',
  'flavor_id',
  'master_flavor_id',
  'keypair_id',
  'external_network_id',
  'fixed_network',
  'fixed_subnet',
  'network_driver',
  'volume_driver',
  'dns_nameserver',
  'apiserver_port',
  'docker_volume_size',
  'docker_storage_driver',
  'cluster_distro',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'registry_enabled',
  'labels',
  'tls_disabled',
  'public',
  'server_type',
  'insecure_registry',
  'master_lb_enabled',
  'floating_ip_enabled',
  'hidden',
  'tags',
] as const;
const BOOLS = new Set([
  'registry_enabled',
  'tls_disabled',
  'public',
  'master_lb_enabled',
  'floating_ip_enabled',
  'hidden',
]);

const TEMPLATE_PATCH_RULES = {
  internal: BASE_INTERNAL,
  nonRemovable: [
    '/coe',
    '/image_id',
    '/network_driver',
    '/external_network_id',
    '/tls_disabled',
    '/public',
    '/server_type',
    '/registry_enabled',
    '/cluster_distro',
    '/hidden',
  ],
  dictPaths: ['/labels'],
};

export async function patchTemplate(deps: Deps, ctx: RequestContext, ident: string, ops: PatchOp[]) {
  const row = await findTemplate(deps, ctx, ident);
  requireOwnerOrAdmin(ctx, 'clustertemplate:update', row.project_id);
  const doc: Record<string, unknown> = {};
  for (const k of PATCHABLE) {
    const v = row[k];
    doc[k] = BOOLS.has(k) ? v === 1 : k === 'labels' ? parseJson(v as string, {}) : v;
  }
  const patched = applyPatch(doc, ops, TEMPLATE_PATCH_RULES);
  // the result must be a valid template (Horizon's string values included)
  const next = validateAgainst('ClusterTemplateFields', patched, 'cluster_template') as TemplateFields & {
    coe: string;
    image_id: string;
  };
  if (!next.coe || !next.image_id) throw invalid('coe and image_id are mandatory');
  const { network_driver } = checkFields(deps, next);
  next.network_driver = next.network_driver ?? network_driver;
  const changed: Record<string, unknown> = {};
  for (const k of PATCHABLE) {
    let v: unknown = next[k] ?? null;
    if (BOOLS.has(k)) v = bool(v as boolean);
    if (k === 'labels') v = JSON.stringify(stringLabels(v as Record<string, unknown>));
    if (k === 'floating_ip_enabled' && next[k] === null) v = 1;
    if (v !== row[k]) changed[k] = v;
  }
  if (('public' in changed || 'hidden' in changed) && !ctx.isAdmin) {
    throw new ApiError(
      403,
      'ClusterTemplatePublishDenied',
      'Not authorized to set public or hidden flag for cluster template.',
    );
  }
  if (
    'image_id' in changed ||
    'flavor_id' in changed ||
    'master_flavor_id' in changed ||
    'keypair_id' in changed
  ) {
    const check = new ResourceValidator(
      await deps.keystone.userSession(ctx),
      deps.config.compute.interface as 'public',
    );
    if ('image_id' in changed) await check.image(next.image_id);
    await check.flavor(next.flavor_id);
    await check.flavor(next.master_flavor_id);
    await check.keypair(next.keypair_id);
  }
  const keys = Object.keys(changed);
  if (keys.length > 0 && (await deps.templates.isReferenced(row.uuid))) {
    // in use: only renaming or (un)publishing (db/sqlalchemy/api.py _do_update_cluster_template)
    const publishing =
      keys.length === 1 && (changed.public === 1 || 'hidden' in changed || 'tags' in changed);
    if (!publishing && !(keys.length === 1 && keys[0] === 'name')) {
      throw new ApiError(
        400,
        'ClusterTemplateReferenced',
        `ClusterTemplate ${ident} is referenced by one or multiple clusters.`,
      );
    }
  }
  if (keys.length > 0) await deps.templates.update(row.id, { ...changed, updated_at: nowIso() });
  return (await deps.templates.get(row.uuid))!;
}

export async function deleteTemplate(deps: Deps, ctx: RequestContext, ident: string): Promise<void> {
  const row = await findTemplate(deps, ctx, ident);
  requireOwnerOrAdmin(ctx, 'clustertemplate:delete', row.project_id);
  if (!(await deps.templates.deleteUnlessReferenced(row))) {
    throw new ApiError(
      400,
      'ClusterTemplateReferenced',
      `ClusterTemplate ${ident} is referenced by one or multiple clusters.`,
    );
  }
}
