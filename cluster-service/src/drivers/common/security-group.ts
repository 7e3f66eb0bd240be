// A security group of the cluster's own, through Neutron as the cluster's
// owner, as Magnum's Heat templates made one: Neutron's `default` group
// admits only its own members, so without it the user's Docker client could
// not reach the cluster's API, and nodes would only reach each other by the
// accident of sharing `default`. Which ports it opens is the driver's
// business (`GroupRule`); this module only makes the group, keeps its rules
// complete, and removes it.
//
// Crash safety: the group is named after the cluster's server prefix and
// carries the cluster uuid in its description, so a conductor that died
// between Neutron's answer and recording the id adopts it (and adds any rule
// it lacks) instead of making a second one; a delete finds it (and any
// orphan of the same cluster) the same way.

import {
  type CreateSecurityGroupRuleRequest,
  isNeutronConflict,
  type SecurityGroup,
  type SecurityGroupRule,
} from '@berth/openstack-clients';

import { DriverError, type DriverContext, isCloudHiccup } from '../driver';
import { serverPrefix } from './nova-nodes';

/** One ingress rule: a protocol, a port range (none: every port), and who may send. */
export interface GroupRule {
  protocol: 'tcp' | 'udp' | 'icmp';
  ports?: [number, number];
  /** `anywhere`: any IPv4 address; `members`: servers in this same group (the cluster's nodes) */
  from: 'anywhere' | 'members';
  description: string;
}

/** `<cluster name>-<8 chars of the uuid>-secgroup` */
export const securityGroupName = (ctx: DriverContext): string => `${serverPrefix(ctx)}secgroup`;

const descriptionOf = (ctx: DriverContext) => `Berth cluster ${ctx.cluster.uuid}: its nodes`;

/** The groups Neutron has for this cluster (normally one). */
async function groupsOf(ctx: DriverContext): Promise<SecurityGroup[]> {
  const found = await ctx
    .network()
    .listSecurityGroups({ name: securityGroupName(ctx), project_id: ctx.cluster.project_id });
  return found.filter((g) => g.description === descriptionOf(ctx));
}

function toRequest(groupId: string, r: GroupRule): CreateSecurityGroupRuleRequest {
  return {
    security_group_id: groupId,
    direction: 'ingress',
    ethertype: 'IPv4',
    protocol: r.protocol,
    ...(r.ports ? { port_range_min: r.ports[0], port_range_max: r.ports[1] } : {}),
    ...(r.from === 'members' ? { remote_group_id: groupId } : { remote_ip_prefix: '0.0.0.0/0' }),
    description: r.description,
  };
}

/** Whether the group already has an equal rule (Neutron refuses duplicates with a 409). */
function has(existing: SecurityGroupRule[], want: CreateSecurityGroupRuleRequest): boolean {
  return existing.some(
    (e) =>
      e.direction === want.direction &&
      e.ethertype === want.ethertype &&
      e.protocol === (want.protocol ?? null) &&
      e.port_range_min === (want.port_range_min ?? null) &&
      e.port_range_max === (want.port_range_max ?? null) &&
      (e.remote_group_id ?? null) === (want.remote_group_id ?? null) &&
      // Neutron stores 0.0.0.0/0 as given (or as null on older releases)
      (e.remote_ip_prefix ?? '0.0.0.0/0') === (want.remote_ip_prefix ?? '0.0.0.0/0'),
  );
}

/**
 * The cluster's security group with every rule in `rules`: the recorded one,
 * an adopted one, or a new one. Returns its id; the caller records it.
 */
export async function ensureSecurityGroup(
  ctx: DriverContext,
  recorded: string | undefined,
  rules: GroupRule[],
): Promise<string> {
  const neutron = ctx.network();
  try {
    let group = recorded ? await neutron.findSecurityGroup(recorded) : undefined;
    // recorded groups are complete (rules are added before the id is recorded)
    if (group) return group.id;
    group = (await groupsOf(ctx))[0];
    if (!group) {
      group = await neutron.createSecurityGroup({
        name: securityGroupName(ctx),
        description: descriptionOf(ctx),
      });
      ctx.logger.info({ security_group: group.id }, 'security group created');
    }
    const id = group.id;
    const missing = rules.map((r) => toRequest(id, r)).filter((r) => !has(group.security_group_rules, r));
    await neutron.createSecurityGroupRules(missing);
    return id;
  } catch (e) {
    if (isCloudHiccup(e)) throw e;
    throw new DriverError(
      `could not make the cluster's security group ${securityGroupName(ctx)}: ${(e as Error).message}`,
    );
  }
}

/**
 * Deletes the cluster's security groups (the recorded one and any orphan).
 * Call it once the servers are gone; true when none is left. A group still
 * on a port (Nova releasing it) answers false, to be asked again.
 */
export async function deleteSecurityGroups(
  ctx: DriverContext,
  recorded: string | undefined,
): Promise<{ done: boolean; busy: string[] }> {
  const neutron = ctx.network();
  const ids = new Set((await groupsOf(ctx)).map((g) => g.id));
  if (recorded) ids.add(recorded);
  const busy: string[] = [];
  for (const id of ids) {
    try {
      if (await neutron.deleteSecurityGroup(id)) {
        ctx.logger.info({ security_group: id }, 'security group deleted');
      }
    } catch (e) {
      if (!isNeutronConflict(e)) throw e;
      busy.push(id);
    }
  }
  return { done: busy.length === 0, busy };
}
