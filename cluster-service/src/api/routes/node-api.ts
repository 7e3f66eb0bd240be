// POST /node-api/v1/report: where cluster nodes report back. Not Keystone:
// a node proves it belongs to the cluster with the per-cluster secret from
// its user data. The driver turns the report into the node's next
// instruction, and the cluster's conductor job is woken to look at once.

import { createHash, timingSafeEqual } from 'node:crypto';

import type { FastifyInstance } from 'fastify';
import { ApiError } from '@berth/service-kit';

import { buildContext } from '../../conductor/context';
import type { Deps } from '../../core/deps';
import type { NodeReport } from '../../drivers/driver';
import { addRoute } from '../route';

const digest = (s: string) => createHash('sha256').update(s).digest();

const refused = () =>
  new ApiError(401, 'Unauthorized', 'The node report is not authenticated for this cluster.', undefined, {
    'WWW-Authenticate': 'Bearer realm="berth-cluster-nodes"',
  });

export function nodeApiRoutes(app: FastifyInstance, deps: Deps): void {
  addRoute(app, {
    method: 'POST',
    url: '/node-api/v1/report',
    public: true,
    operationId: 'nodeReport',
    argument: 'report',
    handler: async (request) => {
      const report = request.body as NodeReport;
      const auth = request.headers.authorization ?? '';
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      const cluster = await deps.clusters.get(report.cluster_uuid);
      if (!m || !cluster) throw refused();
      const secret = deps.box.open(cluster.node_secret_enc);
      if (!timingSafeEqual(digest(m[1]!), digest(secret))) throw refused();
      const node = await deps.nodes.get(report.node_uuid);
      if (!node || node.cluster_id !== cluster.uuid) {
        throw new ApiError(
          404,
          'NodeNotFound',
          `Node ${report.node_uuid} is not part of cluster ${cluster.uuid}.`,
        );
      }
      const { ctx, driver } = await buildContext(deps, cluster);
      if (!driver.nodeReport)
        throw new ApiError(409, 'Conflict', `The ${driver.name} driver takes no node reports.`);
      request.log.info({ cluster: cluster.uuid, node: node.name, phase: report.phase }, 'node report');
      const reply = await driver.nodeReport(ctx, node, report);
      deps.poke(cluster.uuid);
      return reply;
    },
  });
}
