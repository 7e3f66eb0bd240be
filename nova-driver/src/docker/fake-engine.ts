import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

import {
  ContainerDetails,
  ContainerEngine,
  ContainerSummary,
  CreateSpec,
  EngineError,
  EngineEvent,
  EngineInfo,
  HostConfig,
  ImageDetails,
  RegistryAuth,
} from './engine';

interface FakeContainer {
  details: ContainerDetails;
  logs: string[];
}

interface FakeImage extends ImageDetails {
  /** what a `docker load` of it must contain; the fake's tarballs are JSON */
  loadable?: boolean;
}

/**
 * A complete in-memory container engine with dockerd's semantics where the
 * agent relies on them: name conflicts (409), state rules (pause needs
 * running, remove of a running container needs force), idempotent stop of a
 * stopped container (304), 404 for unknown ids, events on state changes.
 * Unit tests drive the agent against it; `down` simulates dockerd outages.
 */
export class FakeEngine implements ContainerEngine {
  readonly containers = new Map<string, FakeContainer>();
  readonly images = new Map<string, FakeImage>();
  /** every call, for assertions: ["create nova-x", "start abc"...] */
  readonly calls: string[] = [];
  down = false;
  info_: EngineInfo = {
    ncpu: 4,
    memTotal: 8 * 1024 ** 3,
    dockerRootDir: '/var/lib/docker',
    serverVersion: '20.10.24',
    apiVersion: '1.41',
    storageDriver: 'overlay2',
    liveRestoreEnabled: true,
  };
  private listeners = new Set<(e: EngineEvent) => void>();
  private pid = 1000;

  /** a loadable `docker save` tarball as the fake understands it */
  static tarball(ref: string, config: ImageDetails['config'] = { Cmd: ['/bin/sh'] }): Buffer {
    return Buffer.from(JSON.stringify({ fakeDockerSave: true, ref, config }));
  }

  addImage(ref: string, config: ImageDetails['config'] = { Cmd: ['/bin/sh'] }, size = 1024): string {
    const id = `sha256:${createHash('sha256').update(ref).digest('hex')}`;
    const existing = this.images.get(id);
    const tags = new Set([...(existing?.repoTags ?? []), ref]);
    this.images.set(id, {
      id,
      repoTags: [...tags],
      repoDigests: [],
      size,
      created: new Date().toISOString(),
      config,
    });
    return id;
  }

  private check(op: string): void {
    this.calls.push(op);
    if (this.down) throw new EngineError(503, 'dockerd unreachable: connect ENOENT /var/run/docker.sock');
  }

  private find(id: string): FakeContainer {
    const c =
      this.containers.get(id) ??
      [...this.containers.values()].find((x) => x.details.name === id.replace(/^\//, ''));
    if (!c) throw new EngineError(404, `No such container: ${id}`);
    return c;
  }

  private findImage(ref: string): FakeImage | undefined {
    return (
      this.images.get(ref) ??
      [...this.images.values()].find(
        (i) => i.repoTags.includes(ref) || i.repoTags.includes(`${ref}:latest`) || i.id === `sha256:${ref}`,
      )
    );
  }

  private emit(action: string, c: FakeContainer): void {
    const e: EngineEvent = {
      type: 'container',
      action,
      id: c.details.id,
      attributes: { name: c.details.name, ...c.details.labels },
    };
    for (const l of this.listeners) l(e);
  }

  private setState(c: FakeContainer, status: ContainerDetails['status'], exitCode = 0): void {
    const s = c.details.state;
    c.details.status = status;
    s.status = status;
    s.running = status === 'running' || status === 'paused';
    s.paused = status === 'paused';
    s.exitCode = exitCode;
    s.pid = s.running ? s.pid || ++this.pid : 0;
    if (status === 'running') s.startedAt = new Date().toISOString();
    if (status === 'exited') s.finishedAt = new Date().toISOString();
  }

  /** simulates the container's main process exiting on its own */
  exit(id: string, exitCode = 0): void {
    const c = this.find(id);
    this.setState(c, 'exited', exitCode);
    this.emit('die', c);
  }

  async ping(): Promise<void> {
    this.check('ping');
  }

  async info(): Promise<EngineInfo> {
    this.check('info');
    return { ...this.info_ };
  }

  async listContainers(labels: Record<string, string | true>): Promise<ContainerSummary[]> {
    this.check('list');
    return [...this.containers.values()]
      .filter((c) =>
        Object.entries(labels).every(([k, v]) =>
          v === true ? k in c.details.labels : c.details.labels[k] === v,
        ),
      )
      .map(({ details: d }) => ({
        id: d.id,
        name: d.name,
        labels: { ...d.labels },
        status: d.status,
        image: d.image,
      }));
  }

  async inspectContainer(id: string): Promise<ContainerDetails | undefined> {
    this.check(`inspect ${id}`);
    try {
      return structuredClone(this.find(id).details);
    } catch {
      return undefined;
    }
  }

  async createContainer(spec: CreateSpec): Promise<string> {
    this.check(`create ${spec.name}`);
    if ([...this.containers.values()].some((c) => c.details.name === spec.name)) {
      throw new EngineError(409, `Conflict. The container name "/${spec.name}" is already in use`);
    }
    const image = this.findImage(spec.Image);
    if (!image) throw new EngineError(404, `No such image: ${spec.Image}`);
    // as dockerd: only these security options exist in the Engine API (systempaths= is a CLI flag)
    for (const o of spec.HostConfig.SecurityOpt ?? []) {
      if (!/^(seccomp|apparmor|label)[=:]|^no-new-privileges(:true|:false)?$/.test(o)) {
        throw new EngineError(500, `invalid --security-opt 2: "${o}"`);
      }
    }
    const mode = spec.HostConfig.NetworkMode ?? 'default';
    // as dockerd: the container whose network is joined must exist at create, and run at start
    if (mode.startsWith('container:')) this.find(mode.slice('container:'.length));
    const id = randomBytes(32).toString('hex');
    const { name, HostConfig: hostConfig, ...config } = spec;
    const details: ContainerDetails = {
      id,
      name,
      labels: { ...(spec.Labels ?? {}) },
      status: 'created',
      image: spec.Image,
      imageId: image.id,
      created: new Date().toISOString(),
      state: {
        status: 'created',
        running: false,
        paused: false,
        exitCode: 0,
        pid: 0,
        startedAt: '',
        finishedAt: '',
        error: '',
      },
      hostConfig: structuredClone(hostConfig),
      config: structuredClone(config),
    };
    this.containers.set(id, { details, logs: [] });
    return id;
  }

  async startContainer(id: string): Promise<void> {
    this.check(`start ${id}`);
    const c = this.find(id);
    if (c.details.state.running) throw new EngineError(304, 'container already started');
    const mode = c.details.hostConfig.NetworkMode ?? '';
    if (mode.startsWith('container:') && !this.find(mode.slice('container:'.length)).details.state.running) {
      throw new EngineError(
        409,
        `cannot join network of a non running container: ${mode.slice('container:'.length)}`,
      );
    }
    this.setState(c, 'running');
    c.logs.push(`started ${c.details.config.Cmd?.join(' ') ?? ''}`.trim());
    this.emit('start', c);
  }

  async stopContainer(id: string, _timeoutSeconds: number): Promise<void> {
    this.check(`stop ${id}`);
    const c = this.find(id);
    if (!c.details.state.running) throw new EngineError(304, 'container already stopped');
    this.setState(c, 'exited', 143);
    this.emit('die', c);
    this.emit('stop', c);
  }

  async restartContainer(id: string, _timeoutSeconds: number): Promise<void> {
    this.check(`restart ${id}`);
    const c = this.find(id);
    this.setState(c, 'running');
    this.emit('restart', c);
  }

  async killContainer(id: string, _signal?: string): Promise<void> {
    this.check(`kill ${id}`);
    const c = this.find(id);
    if (!c.details.state.running) throw new EngineError(409, `Container ${id} is not running`);
    this.setState(c, 'exited', 137);
    this.emit('die', c);
  }

  async pauseContainer(id: string): Promise<void> {
    this.check(`pause ${id}`);
    const c = this.find(id);
    if (c.details.status !== 'running') throw new EngineError(409, `Container ${id} is not running`);
    this.setState(c, 'paused');
    this.emit('pause', c);
  }

  async unpauseContainer(id: string): Promise<void> {
    this.check(`unpause ${id}`);
    const c = this.find(id);
    if (c.details.status !== 'paused') throw new EngineError(409, `Container ${id} is not paused`);
    this.setState(c, 'running');
    this.emit('unpause', c);
  }

  async removeContainer(id: string, opts: { force: boolean; volumes: boolean }): Promise<void> {
    this.check(`remove ${id}`);
    const c = this.find(id);
    if (c.details.state.running && !opts.force) {
      throw new EngineError(
        409,
        `You cannot remove a running container ${id}. Stop the container before attempting removal or force remove`,
      );
    }
    this.containers.delete(c.details.id);
    this.emit('destroy', c);
  }

  async updateContainer(
    id: string,
    resources: Pick<HostConfig, 'Memory' | 'MemorySwap' | 'NanoCpus' | 'RestartPolicy'>,
  ): Promise<void> {
    this.check(`update ${id}`);
    Object.assign(this.find(id).details.hostConfig, resources);
  }

  async containerLogs(id: string, tail: number): Promise<string> {
    this.check(`logs ${id}`);
    const lines = this.find(id).logs;
    return lines
      .slice(-tail)
      .map((l) => `${l}\n`)
      .join('');
  }

  /** appends to a container's output, as its process would */
  log(id: string, line: string): void {
    this.find(id).logs.push(line);
  }

  async inspectImage(ref: string): Promise<ImageDetails | undefined> {
    this.check(`inspect-image ${ref}`);
    const i = this.findImage(ref);
    return i ? structuredClone(i) : undefined;
  }

  async loadImage(tarball: Readable): Promise<string[]> {
    this.check('load');
    const chunks: Buffer[] = [];
    for await (const c of tarball) chunks.push(Buffer.from(c as Buffer));
    let parsed: { fakeDockerSave?: boolean; ref?: string; config?: ImageDetails['config'] };
    try {
      parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new EngineError(400, 'Error processing tar file(exit status 1): unexpected EOF');
    }
    if (!parsed.fakeDockerSave || !parsed.ref)
      throw new EngineError(
        400,
        'open /var/lib/docker/tmp/docker-import/repositories: no such file or directory',
      );
    this.addImage(parsed.ref, parsed.config);
    return [parsed.ref];
  }

  /** images "in a registry": pulled by reference */
  readonly registry = new Map<string, ImageDetails['config']>();

  async pullImage(ref: string, _auth?: RegistryAuth): Promise<void> {
    this.check(`pull ${ref}`);
    const config = this.registry.get(ref);
    if (!config) throw new EngineError(404, `manifest for ${ref} not found: manifest unknown`);
    const id = this.addImage(ref, config);
    this.images.get(id)!.repoDigests.push(ref);
  }

  async tagImage(ref: string, repo: string, tag: string): Promise<void> {
    this.check(`tag ${ref} ${repo}:${tag}`);
    const i = this.findImage(ref);
    if (!i) throw new EngineError(404, `No such image: ${ref}`);
    if (!i.repoTags.includes(`${repo}:${tag}`)) i.repoTags.push(`${repo}:${tag}`);
  }

  async removeImage(ref: string): Promise<void> {
    this.check(`rmi ${ref}`);
    const i = this.findImage(ref);
    if (!i) throw new EngineError(404, `No such image: ${ref}`);
    const tag = i.repoTags.find((t) => t === ref || t === `${ref}:latest`);
    if (tag && i.repoTags.length > 1) {
      // as dockerd: removing one of several tags only untags
      i.repoTags = i.repoTags.filter((t) => t !== tag);
      return;
    }
    if (!tag && i.repoTags.length > 1) {
      throw new EngineError(
        409,
        `conflict: unable to delete ${ref} (must be forced) - image is referenced in multiple repositories`,
      );
    }
    if ([...this.containers.values()].some((c) => c.details.imageId === i.id)) {
      throw new EngineError(
        409,
        `conflict: unable to remove repository reference "${ref}" (must force) - container is using its referenced image`,
      );
    }
    this.images.delete(i.id);
  }

  async containersUsingImage(ref: string): Promise<number> {
    this.check(`ancestor ${ref}`);
    const i = this.findImage(ref);
    return i ? [...this.containers.values()].filter((c) => c.details.imageId === i.id).length : 0;
  }

  async commitContainer(id: string, repo: string, tag: string): Promise<string> {
    this.check(`commit ${id}`);
    const c = this.find(id);
    const base = this.images.get(c.details.imageId);
    return this.addImage(`${repo}:${tag}`, base?.config ?? {});
  }

  async saveImage(ref: string): Promise<Readable> {
    this.check(`save ${ref}`);
    const i = this.findImage(ref);
    if (!i) throw new EngineError(404, `No such image: ${ref}`);
    return Readable.from([FakeEngine.tarball(i.repoTags[0] ?? ref, i.config)]);
  }

  readonly volumes = new Map<string, Record<string, string>>();

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    this.check(`volume-create ${name}`);
    if (!this.volumes.has(name)) this.volumes.set(name, { ...labels });
  }

  async listVolumes(labels: Record<string, string>): Promise<string[]> {
    this.check('volume-list');
    return [...this.volumes.entries()]
      .filter(([, l]) => Object.entries(labels).every(([k, v]) => l[k] === v))
      .map(([n]) => n);
  }

  async removeVolume(name: string): Promise<void> {
    this.check(`volume-rm ${name}`);
    const inUse = [...this.containers.values()].some((c) =>
      (c.details.hostConfig.Mounts ?? []).some((m) => m.Type === 'volume' && m.Source === name),
    );
    if (inUse) throw new EngineError(409, `remove ${name}: volume is in use`);
    if (!this.volumes.delete(name)) throw new EngineError(404, `get ${name}: no such volume`);
  }

  async watchEvents(onEvent: (e: EngineEvent) => void, _onError: (e: Error) => void): Promise<() => void> {
    this.check('events');
    this.listeners.add(onEvent);
    return () => this.listeners.delete(onEvent);
  }
}
