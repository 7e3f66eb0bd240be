#!/usr/bin/env node
/**
 * berth-nova-agent: the container-host agent. Serves the Nova shim's RPC on
 * `<topic>.<host>` and drives dockerd; see nova-driver/README.md.
 */
import { getTransport, RpcClient, RpcServer } from '@berth/oslo-rpc';
import { KeystoneSession } from 'keystone-client-ts';
import { GlanceClient } from '@berth/openstack-clients';
import { runService } from '@berth/service-kit';

import { agentConfigSpec } from './config';
import { DockerEngine } from './docker/docker-engine';
import { LifecycleEvents } from './events/lifecycle-events';
import { hostBoundingCapabilities } from './host/capabilities';
import { UserGlanceImages } from './images/glance-images';
import { ImageStore } from './images/image-store';
import { BridgeOciPuller } from './images/oci-puller';
import { InstanceManager } from './instances/instance-manager';
import { LinuxBridgePlugger } from './net/linuxbridge-plugger';
import { NoNetworkPlugger } from './net/no-network';
import { agentEndpoints } from './rpc/endpoints';
import { AgentState } from './state/agent-db';

const VERSION = '0.1.0';

void runService({
  name: 'berth-nova-agent',
  description:
    'Berth container-host agent: serves the Nova shim (compute_driver = berth.BerthDriver) over oslo.messaging RPC and runs its instances as containers in dockerd.',
  spec: agentConfigSpec,
  envPrefix: 'BERTH_NOVA_AGENT',
  defaultConfigFiles: ['/etc/berth/nova-agent.conf'],
  loggingFrom: (c) => ({
    debug: c.DEFAULT.debug,
    ...(c.DEFAULT.log_file ? { file: c.DEFAULT.log_file } : {}),
  }),
  async start({ config: c, logger }) {
    const host = c.DEFAULT.host;
    const engine = new DockerEngine(c.agent.docker_socket);
    const state = await AgentState.open(c.database.connection, logger);

    const session = KeystoneSession.fromConfig(
      {
        auth_url: c.service_auth.auth_url,
        username: c.service_auth.username,
        password: c.service_auth.password,
        project_name: c.service_auth.project_name,
        user_domain_name: c.service_auth.user_domain_name,
        project_domain_name: c.service_auth.project_domain_name,
        region_name: c.service_auth.region_name,
        interface: c.service_auth.interface,
      },
      { logger, userAgent: `berth-nova-agent/${VERSION}` },
    );
    const serviceGlance = new GlanceClient(session, {
      ...(c.glance.endpoint_override ? { endpointOverride: c.glance.endpoint_override } : {}),
    });
    const glance = new UserGlanceImages(c.service_auth.auth_url, serviceGlance);
    const images = new ImageStore({
      engine,
      glance,
      state,
      logger,
      maxCacheBytes: c.agent.image_cache_max_gb * 1024 ** 3,
      oci: new BridgeOciPuller(engine, state, logger),
    });
    const manager = new InstanceManager({
      engine,
      images,
      glance,
      state,
      logger,
      vifs:
        c.agent.network_plugger === 'linuxbridge' ? new LinuxBridgePlugger(logger) : new NoNetworkPlugger(),
      build: {
        host,
        sandboxImage: c.agent.sandbox_image,
        pidsLimit: c.agent.pids_limit,
        hostCapabilities: hostBoundingCapabilities(),
      },
      defaultStopTimeout: c.agent.default_stop_timeout,
      consoleTailLines: c.agent.console_tail_lines,
    });

    // dockerd may be down at start: the agent still serves (ping reports it), Nova disables the host meanwhile
    try {
      const info = await engine.info();
      logger.info({ docker: info.serverVersion, live_restore: info.liveRestoreEnabled }, 'dockerd reachable');
      if (!info.liveRestoreEnabled)
        logger.warn('dockerd runs without live-restore: restarting it stops every container');
      if (!(await engine.inspectImage(c.agent.sandbox_image))) {
        logger.error(
          { image: c.agent.sandbox_image },
          'sandbox image missing: spawns will fail until it exists',
        );
      }
    } catch (e) {
      logger.error({ err: (e as Error).message }, 'dockerd unreachable at start');
    }

    const transport = getTransport({
      url: c.DEFAULT.transport_url,
      controlExchange: c.DEFAULT.control_exchange,
      logger,
    });
    const server = new RpcServer(
      transport,
      { topic: c.agent.topic, server: host },
      agentEndpoints({ manager, engine, reserved: reservations(c), host, agentVersion: VERSION, logger }),
      { maxConcurrency: c.agent.max_concurrent_requests, logger },
    );
    await server.start();
    logger.info({ topic: `${c.agent.topic}.${host}` }, 'serving RPC');

    const shim = new RpcClient(transport, { topic: c.agent.events_topic, server: host, version: '1.0' });
    const events = new LifecycleEvents(engine, shim, host, logger);
    await events.start();

    return async () => {
      events.stop();
      // finish the requests in flight (a spawn may take a while), then let go of the broker
      await server.stop(120);
      await transport.close();
      await state.close();
    };
  },
});

function reservations(c: {
  resources: { reserved_host_cpus: number; reserved_host_memory_mb: number; reserved_host_disk_gb: number };
}) {
  return {
    vcpus: c.resources.reserved_host_cpus,
    memory_mb: c.resources.reserved_host_memory_mb,
    disk_gb: c.resources.reserved_host_disk_gb,
  };
}
