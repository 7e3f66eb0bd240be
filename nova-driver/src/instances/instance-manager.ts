/**
 * The container lifecycle behind Nova's driver calls. Every operation is
 * idempotent, keyed by the instance uuid label, so a retried call (the shim
 * retries after an agent restart) converges instead of duplicating: spawn
 * reuses what a killed earlier spawn left, destroy of a gone instance is a
 * no-op, stop of a stopped container is fine.
 */
import type { Logger } from '@berth/service-kit';

import { ContainerDetails, ContainerEngine, isConflict, isNotFound } from '../docker/engine';
import { ImageDTO, ImageStore } from '../images/image-store';
import type { Caller, GlanceImages } from '../images/glance-images';
import { checkIsolation, grantsFrom } from '../spec/isolation-policy';
import { ContainerSpec, specFromUserData } from '../spec/container-spec';
import type { AgentState } from '../state/agent-db';
import {
  BuildOptions,
  InstanceDTO,
  sandboxCreateSpec,
  volumeName,
  workloadCreateSpec,
} from './container-config';
import { LABELS, Role, snapshotRepo } from './naming';
import { PowerState, PowerStateValue, powerStateOf } from './power-state';

/** wires Neutron VIFs (Nova's network_info entries) into a sandbox's network namespace */
export interface VifPlugger {
  plug(uuid: string, sandbox: ContainerDetails, networkInfo: unknown[]): Promise<void>;
  unplug(uuid: string, networkInfo: unknown[]): Promise<void>;
}

export class InstanceError extends Error {
  constructor(
    readonly kind: 'not-found' | 'invalid-spec' | 'refused' | 'image' | 'state',
    message: string,
    readonly imageId?: string,
  ) {
    super(message);
    this.name = 'InstanceError';
  }
}

export interface InstanceManagerOptions {
  engine: ContainerEngine;
  images: ImageStore;
  glance: GlanceImages;
  state: AgentState;
  logger: Logger;
  build: BuildOptions;
  vifs: VifPlugger;
  /** graceful stop before SIGKILL, when Nova gives none */
  defaultStopTimeout: number;
  consoleTailLines: number;
}

interface Parts {
  sandbox?: ContainerDetails;
  workload?: ContainerDetails;
}

export class InstanceManager {
  constructor(private readonly o: InstanceManagerOptions) {}

  private async parts(uuid: string): Promise<Parts> {
    const found = await this.o.engine.listContainers({ [LABELS.instanceUuid]: uuid });
    const out: Parts = {};
    for (const c of found) {
      const d = await this.o.engine.inspectContainer(c.id);
      if (d) out[(c.labels[LABELS.role] as Role) ?? 'workload'] = d;
    }
    return out;
  }

  private async workload(uuid: string): Promise<ContainerDetails> {
    const { workload } = await this.parts(uuid);
    if (!workload) throw new InstanceError('not-found', `Instance ${uuid} could not be found.`);
    return workload;
  }

  async spawn(
    inst: InstanceDTO,
    image: ImageDTO,
    networkInfo: unknown[],
    powerOn: boolean,
    caller: Caller,
  ): Promise<PowerStateValue> {
    const log = this.o.logger.child({ instance_uuid: inst.uuid });
    const existing = await this.parts(inst.uuid);
    if (existing.workload) {
      // a repeated spawn (the first was cut short): finish it, do not duplicate
      log.info('spawn: workload exists already, converging');
      if (powerOn) await this.powerOn(inst.uuid);
      return this.powerState(inst.uuid);
    }
    let spec: ContainerSpec;
    try {
      spec = specFromUserData(inst.user_data);
    } catch (e) {
      throw new InstanceError('invalid-spec', (e as Error).message);
    }
    const refusals = checkIsolation(spec, grantsFrom(inst.flavor.extra_specs ?? {}, image.properties ?? {}));
    if (refusals.length) throw new InstanceError('refused', `container spec refused: ${refusals.join('; ')}`);

    let ref: string;
    try {
      ref = await this.o.images.ensure(image, caller);
    } catch (e) {
      if (e instanceof Error && e.name === 'ImageUnusableError') {
        throw new InstanceError('image', (e as Error & { reason: string }).reason, image.id);
      }
      throw e;
    }

    const created: string[] = [];
    try {
      let sandboxId: string | undefined;
      if (!spec.hostNetwork) {
        const sandbox = existing.sandbox;
        sandboxId =
          sandbox?.id ??
          (await this.o.engine.createContainer(sandboxCreateSpec(inst, spec, this.o.build, networkInfo)));
        if (!sandbox) created.push(sandboxId);
      }
      for (const v of spec.volumes) {
        if (v.name)
          await this.o.engine.createVolume(volumeName(inst.uuid, v.name), {
            [LABELS.instanceUuid]: inst.uuid,
          });
      }
      if (spec.nestedDocker)
        await this.o.engine.createVolume(volumeName(inst.uuid, 'docker'), {
          [LABELS.instanceUuid]: inst.uuid,
        });
      // the workload may be created while its sandbox starts: joining a network needs the sandbox to exist, not to run
      const [wid] = await Promise.all([
        this.o.engine.createContainer(workloadCreateSpec(inst, ref, spec, sandboxId, this.o.build)),
        sandboxId && !existing.sandbox?.state.running ? this.o.engine.startContainer(sandboxId) : undefined,
      ]);
      created.push(wid);
      if (sandboxId && networkInfo.length) {
        await this.o.vifs.plug(inst.uuid, (await this.o.engine.inspectContainer(sandboxId))!, networkInfo);
      }
      if (powerOn) await this.o.engine.startContainer(wid);
      log.info({ image: ref, power_on: powerOn }, 'spawned');
      return powerOn ? PowerState.RUNNING : PowerState.SHUTDOWN;
    } catch (e) {
      // a failed spawn leaves nothing behind: Nova reschedules or errors the server
      log.warn({ err: e }, 'spawn failed, cleaning up');
      await this.destroy(inst.uuid, networkInfo).catch((ce) =>
        log.error({ err: ce }, 'cleanup after failed spawn'),
      );
      throw e;
    }
  }

  async destroy(uuid: string, networkInfo: unknown[]): Promise<void> {
    const { sandbox, workload } = await this.parts(uuid);
    for (const c of [workload, sandbox]) {
      if (!c) continue;
      try {
        await this.o.engine.removeContainer(c.id, { force: true, volumes: true });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      if (c === workload) await this.o.vifs.unplug(uuid, networkInfo);
    }
    if (!sandbox) await this.o.vifs.unplug(uuid, networkInfo);
    for (const v of await this.o.engine.listVolumes({ [LABELS.instanceUuid]: uuid })) {
      await this.o.engine.removeVolume(v).catch((e) => {
        if (!isNotFound(e)) throw e;
      });
    }
    await this.o.state.setSuspended(uuid, false);
    if (sandbox || workload) this.o.logger.info({ instance_uuid: uuid }, 'destroyed');
  }

  async powerState(uuid: string): Promise<PowerStateValue> {
    const w = await this.workload(uuid);
    return powerStateOf(w.state, await this.o.state.isSuspended(uuid));
  }

  async list(): Promise<{ uuid: string; name: string; power_state: PowerStateValue }[]> {
    const suspended = await this.o.state.suspendedSet();
    const all = await this.o.engine.listContainers({
      [LABELS.role]: 'workload',
      [LABELS.host]: this.o.build.host,
    });
    const out = [];
    for (const c of all) {
      const d = await this.o.engine.inspectContainer(c.id);
      if (!d) continue;
      const uuid = c.labels[LABELS.instanceUuid]!;
      out.push({
        uuid,
        name: c.labels[LABELS.instanceName] ?? '',
        power_state: powerStateOf(d.state, suspended.has(uuid)),
      });
    }
    return out;
  }

  private async ensureSandbox(uuid: string): Promise<void> {
    const { sandbox } = await this.parts(uuid);
    if (sandbox && !sandbox.state.running) await this.o.engine.startContainer(sandbox.id);
  }

  async powerOn(uuid: string): Promise<void> {
    const w = await this.workload(uuid);
    await this.ensureSandbox(uuid);
    if (w.state.status === 'paused') await this.o.engine.unpauseContainer(w.id);
    else if (!w.state.running) await this.o.engine.startContainer(w.id);
    await this.o.state.setSuspended(uuid, false);
  }

  async powerOff(uuid: string, timeoutSeconds: number | undefined): Promise<void> {
    const w = await this.workload(uuid);
    if (w.state.status === 'paused') await this.o.engine.unpauseContainer(w.id);
    try {
      await this.o.engine.stopContainer(w.id, timeoutSeconds ?? this.stopTimeout(w));
    } catch (e) {
      if (!isConflict(e)) throw e; // already stopped
    }
    await this.o.state.setSuspended(uuid, false);
  }

  async reboot(uuid: string, hard: boolean): Promise<void> {
    const w = await this.workload(uuid);
    await this.ensureSandbox(uuid);
    if (w.state.status === 'paused') await this.o.engine.unpauseContainer(w.id);
    await this.o.engine.restartContainer(w.id, hard ? 0 : this.stopTimeout(w));
    await this.o.state.setSuspended(uuid, false);
  }

  async pause(uuid: string): Promise<void> {
    const w = await this.workload(uuid);
    if (w.state.status === 'paused') return;
    if (!w.state.running) throw new InstanceError('state', `Instance ${uuid} is not running`);
    await this.o.engine.pauseContainer(w.id);
  }

  async unpause(uuid: string): Promise<void> {
    const w = await this.workload(uuid);
    if (w.state.status !== 'paused') return;
    await this.o.engine.unpauseContainer(w.id);
    await this.o.state.setSuspended(uuid, false);
  }

  /**
   * Docker cannot checkpoint a container without CRIU, so suspend freezes its
   * processes (the cgroup freezer, as pause) and Nova sees SUSPENDED.
   */
  async suspend(uuid: string): Promise<void> {
    await this.pause(uuid);
    await this.o.state.setSuspended(uuid, true);
  }

  async resume(uuid: string): Promise<void> {
    const w = await this.workload(uuid);
    await this.ensureSandbox(uuid);
    if (w.state.status === 'paused') await this.o.engine.unpauseContainer(w.id);
    else if (!w.state.running) await this.o.engine.startContainer(w.id);
    await this.o.state.setSuspended(uuid, false);
  }

  /** (re)wires the server's ports: Nova calls this for every server when nova-compute starts */
  async plugVifs(uuid: string, networkInfo: unknown[]): Promise<void> {
    const { sandbox } = await this.parts(uuid);
    if (!sandbox) throw new InstanceError('not-found', `Instance ${uuid} could not be found.`);
    if (!sandbox.state.running) await this.o.engine.startContainer(sandbox.id);
    await this.o.vifs.plug(uuid, (await this.o.engine.inspectContainer(sandbox.id))!, networkInfo);
  }

  async unplugVifs(uuid: string, networkInfo: unknown[]): Promise<void> {
    await this.o.vifs.unplug(uuid, networkInfo);
  }

  /** hot-plug: a port added to a running server (`openstack server add port`) */
  async attachInterface(uuid: string, vif: unknown): Promise<void> {
    const { sandbox } = await this.parts(uuid);
    if (!sandbox?.state.running)
      throw new InstanceError('state', `Instance ${uuid} has no running sandbox to attach a port to`);
    await this.o.vifs.plug(uuid, sandbox, [vif]);
  }

  async detachInterface(uuid: string, vif: unknown): Promise<void> {
    await this.o.vifs.unplug(uuid, [vif]);
  }

  async consoleOutput(uuid: string): Promise<string> {
    const w = await this.workload(uuid);
    return this.o.engine.containerLogs(w.id, this.o.consoleTailLines);
  }

  /** Commits the container and uploads it to the Glance image Nova created, as a `docker save` tarball. */
  async snapshot(uuid: string, imageId: string, caller: Caller): Promise<void> {
    const w = await this.workload(uuid);
    const committed = await this.o.engine.commitContainer(w.id, snapshotRepo(imageId), 'latest');
    try {
      const tar = await this.o.engine.saveImage(`${snapshotRepo(imageId)}:latest`);
      await this.o.glance.uploadSnapshot(imageId, tar, caller);
      // keep it as the cached copy of the new Glance image: booting it here needs no download
      await this.o.images.adopt(imageId, committed);
    } finally {
      await this.o.engine.removeImage(`${snapshotRepo(imageId)}:latest`).catch(() => undefined);
    }
    this.o.logger.info({ instance_uuid: uuid, image_id: imageId }, 'snapshot uploaded');
  }

  private stopTimeout(w: ContainerDetails): number {
    return w.config.StopTimeout ?? this.o.defaultStopTimeout;
  }
}

export { PowerState };
