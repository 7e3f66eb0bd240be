/**
 * The agent's RPC API (topic `berth-agent`, server = host, version 1.0), as
 * the Nova shim calls it: plain JSON in and out, never Nova objects. Each
 * method validates its arguments, calls the instance manager, and turns
 * failures into the nova.exception the shim re-raises natively.
 */
import { Context, Endpoint, OsloError } from '@berth/oslo-rpc';
import type { Logger } from '@berth/service-kit';

import { EngineError } from '../docker/engine';
import type { Caller } from '../images/glance-images';
import type { ImageDTO } from '../images/image-store';
import { hostResources, Reservations, uptimeLine } from '../host/host-resources';
import type { InstanceDTO } from '../instances/container-config';
import { InstanceError, InstanceManager } from '../instances/instance-manager';
import type { ContainerEngine } from '../docker/engine';
import { NovaErrors } from './nova-errors';

export const AGENT_API_VERSION = '1.0';

export interface EndpointDeps {
  manager: InstanceManager;
  engine: ContainerEngine;
  reserved: Reservations;
  host: string;
  agentVersion: string;
  logger: Logger;
}

type Failure = (reason: string) => OsloError;

/** who the request is for: token and project from the oslo context Nova sends (the token is never logged) */
function callerOf(ctx: Context): Caller {
  const token = ctx.auth_token;
  const projectId = ctx.project_id;
  if (typeof token !== 'string' || !token || typeof projectId !== 'string' || !projectId) {
    throw NovaErrors.invalidInput('the request context carries no auth_token and project_id');
  }
  return { token, projectId };
}

function str(args: Record<string, unknown>, key: string): string {
  const v = args[key];
  if (typeof v !== 'string' || !v)
    throw NovaErrors.invalidInput(`argument ${key} must be a non-empty string`);
  return v;
}

function obj<T>(args: Record<string, unknown>, key: string): T {
  const v = args[key];
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw NovaErrors.invalidInput(`argument ${key} must be an object`);
  return v as T;
}

function list(args: Record<string, unknown>, key: string): unknown[] {
  const v = args[key] ?? [];
  if (!Array.isArray(v)) throw NovaErrors.invalidInput(`argument ${key} must be a list`);
  return v;
}

function instanceOf(args: Record<string, unknown>): InstanceDTO {
  const inst = obj<InstanceDTO>(args, 'instance');
  if (typeof inst.uuid !== 'string' || !inst.flavor || typeof inst.flavor.memory_mb !== 'number') {
    throw NovaErrors.invalidInput('instance must carry uuid and flavor{vcpus, memory_mb, ...}');
  }
  return inst;
}

export function agentEndpoints(d: EndpointDeps): Endpoint[] {
  const m = d.manager;
  /** runs an operation on one instance, mapping failures to Nova's exceptions */
  const on = async <T>(uuid: string, failure: Failure, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      throw toNova(e, uuid, failure);
    }
  };
  return [
    {
      version: AGENT_API_VERSION,
      methods: {
        ping: async () => {
          let docker: { ok: boolean; version?: string; error?: string };
          try {
            const info = await d.engine.info();
            docker = { ok: true, version: info.serverVersion };
          } catch (e) {
            docker = { ok: false, error: (e as Error).message };
          }
          return { host: d.host, agent_version: d.agentVersion, api_version: AGENT_API_VERSION, docker };
        },
        get_host_resources: async () =>
          on('', NovaErrors.internal, () => hostResources(d.engine, d.reserved)),
        get_host_uptime: async () => uptimeLine(),
        list_instances: async () => on('', NovaErrors.internal, () => m.list()),
        get_info: async (_ctx, args) => {
          const uuid = str(args, 'instance_uuid');
          return on(uuid, NovaErrors.internal, async () => ({ power_state: await m.powerState(uuid) }));
        },
        spawn: async (ctx, args) => {
          const inst = instanceOf(args);
          const image = obj<ImageDTO>(args, 'image');
          const caller = callerOf(ctx);
          return on(inst.uuid, NovaErrors.deployFailure, async () => ({
            power_state: await m.spawn(
              inst,
              { ...image, properties: image.properties ?? {} },
              list(args, 'network_info'),
              args.power_on !== false,
              caller,
            ),
          }));
        },
        destroy: async (_ctx, args) => {
          const uuid = str(args, 'instance_uuid');
          await on(uuid, NovaErrors.terminationFailure, () => m.destroy(uuid, list(args, 'network_info')));
        },
        reboot: async (_ctx, args) => {
          const uuid = str(args, 'instance_uuid');
          await on(uuid, NovaErrors.rebootFailure, () => m.reboot(uuid, args.reboot_type === 'HARD'));
        },
        power_off: async (_ctx, args) => {
          const uuid = str(args, 'instance_uuid');
          const t = typeof args.timeout === 'number' && args.timeout > 0 ? args.timeout : undefined;
          await on(uuid, NovaErrors.powerOffFailure, () => m.powerOff(uuid, t));
        },
        power_on: async (_ctx, args) => {
          const uuid = str(args, 'instance_uuid');
          await on(uuid, NovaErrors.powerOnFailure, () => m.powerOn(uuid));
        },
        pause: async (_ctx, args) => {
          const uuid = str(args, 'instance_uuid');
          await on(uuid, NovaErrors.internal, () => m.pause(uuid));
        },
        unpause: async (_ctx, args) => {
          const uuid = str(args, 'instance_uuid');
          await on(uuid, NovaErrors.internal, () => m.unpause(uuid));
        },
        suspend: async (_ctx, args) => {
          const uuid = str(args, 'instance_uuid');
          await on(uuid, NovaErrors.suspendFailure, () => m.suspend(uuid));
        },
        resume: async (_ctx, args) => {
          const uuid = str(args, 'instance_uuid');
          await on(uuid, NovaErrors.resumeFailure, () => m.resume(uuid));
        },
        plug_vifs: async (_ctx, args) => {
          const uuid = str(args, 'instance_uuid');
          await on(uuid, NovaErrors.vifPlugFailed, () => m.plugVifs(uuid, list(args, 'network_info')));
        },
        unplug_vifs: async (_ctx, args) => {
          const uuid = str(args, 'instance_uuid');
          await on(uuid, NovaErrors.internal, () => m.unplugVifs(uuid, list(args, 'network_info')));
        },
        attach_interface: async (_ctx, args) => {
          const uuid = str(args, 'instance_uuid');
          const vif = obj<Record<string, unknown>>(args, 'vif');
          await on(
            uuid,
            (r) => NovaErrors.interfaceAttachFailed(uuid, r),
            () => m.attachInterface(uuid, vif),
          );
        },
        detach_interface: async (_ctx, args) => {
          const uuid = str(args, 'instance_uuid');
          const vif = obj<Record<string, unknown>>(args, 'vif');
          await on(uuid, NovaErrors.internal, () => m.detachInterface(uuid, vif));
        },
        get_console_output: async (_ctx, args) => {
          const uuid = str(args, 'instance_uuid');
          return on(uuid, NovaErrors.internal, () => m.consoleOutput(uuid));
        },
        snapshot: async (ctx, args) => {
          const uuid = str(args, 'instance_uuid');
          const imageId = str(args, 'image_id');
          const caller = callerOf(ctx);
          await on(uuid, NovaErrors.internal, () => m.snapshot(uuid, imageId, caller));
        },
      },
    },
  ];
}

export function toNova(e: unknown, uuid: string, failure: Failure): OsloError {
  if (e instanceof OsloError) return e;
  if (e instanceof InstanceError) {
    switch (e.kind) {
      case 'not-found':
        return NovaErrors.instanceNotFound(uuid);
      case 'invalid-spec':
      case 'refused':
        return NovaErrors.invalidInput(e.message);
      case 'image':
        return NovaErrors.imageUnacceptable(e.imageId ?? 'unknown', e.message);
      case 'state':
        return failure(e.message);
    }
  }
  if (e instanceof EngineError && e.status === 503) return NovaErrors.hypervisorUnavailable();
  // dockerd refusing a container's configuration is not worth another host: say why
  if (e instanceof EngineError && e.status === 400)
    return NovaErrors.invalidInput(`the container engine refused it: ${e.message}`);
  return failure(e instanceof Error ? e.message : String(e));
}
