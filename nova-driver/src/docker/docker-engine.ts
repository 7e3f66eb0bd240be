import type { Readable } from 'node:stream';

import Docker from 'dockerode';

import {
  ContainerDetails,
  ContainerEngine,
  ContainerStatus,
  ContainerSummary,
  CreateSpec,
  EngineError,
  EngineEvent,
  EngineInfo,
  HostConfig,
  ImageDetails,
  RegistryAuth,
} from './engine';

/** The contract over dockerd's Engine API on its unix socket, through dockerode. */
export class DockerEngine implements ContainerEngine {
  private readonly docker: Docker;

  constructor(socketPath: string, timeoutMs = 120_000) {
    this.docker = new Docker({ socketPath, timeout: timeoutMs });
  }

  async ping(): Promise<void> {
    await wrap(() => this.docker.ping());
  }

  async info(): Promise<EngineInfo> {
    const [i, v] = await wrap(() => Promise.all([this.docker.info(), this.docker.version()]));
    return {
      ncpu: i.NCPU,
      memTotal: i.MemTotal,
      dockerRootDir: i.DockerRootDir,
      serverVersion: i.ServerVersion,
      apiVersion: v.ApiVersion,
      storageDriver: i.Driver,
      liveRestoreEnabled: Boolean(i.LiveRestoreEnabled),
    };
  }

  async listContainers(labels: Record<string, string | true>): Promise<ContainerSummary[]> {
    const label = Object.entries(labels).map(([k, v]) => (v === true ? k : `${k}=${v}`));
    const list = await wrap(() => this.docker.listContainers({ all: true, filters: { label } }));
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      labels: c.Labels ?? {},
      status: c.State as ContainerStatus,
      image: c.Image,
    }));
  }

  async inspectContainer(id: string): Promise<ContainerDetails | undefined> {
    try {
      const c = await wrap(() => this.docker.getContainer(id).inspect());
      return {
        id: c.Id,
        name: c.Name.replace(/^\//, ''),
        labels: c.Config.Labels ?? {},
        status: c.State.Status as ContainerStatus,
        image: c.Config.Image,
        imageId: c.Image,
        created: c.Created,
        state: {
          status: c.State.Status as ContainerStatus,
          running: c.State.Running,
          paused: c.State.Paused,
          exitCode: c.State.ExitCode,
          pid: c.State.Pid,
          startedAt: c.State.StartedAt,
          finishedAt: c.State.FinishedAt,
          error: c.State.Error,
          ...(c.State.Health ? { health: c.State.Health.Status } : {}),
        },
        hostConfig: c.HostConfig as HostConfig,
        config: c.Config as unknown as ContainerDetails['config'],
      };
    } catch (e) {
      if (e instanceof EngineError && e.status === 404) return undefined;
      throw e;
    }
  }

  async createContainer(spec: CreateSpec): Promise<string> {
    const c = await wrap(() => this.docker.createContainer(spec as Docker.ContainerCreateOptions));
    return c.id;
  }

  async startContainer(id: string): Promise<void> {
    await wrap(() => this.docker.getContainer(id).start());
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    await wrap(() => this.docker.getContainer(id).stop({ t: timeoutSeconds }));
  }

  async restartContainer(id: string, timeoutSeconds: number): Promise<void> {
    await wrap(() => this.docker.getContainer(id).restart({ t: timeoutSeconds }));
  }

  async killContainer(id: string, signal = 'SIGKILL'): Promise<void> {
    await wrap(() => this.docker.getContainer(id).kill({ signal }));
  }

  async pauseContainer(id: string): Promise<void> {
    await wrap(() => this.docker.getContainer(id).pause());
  }

  async unpauseContainer(id: string): Promise<void> {
    await wrap(() => this.docker.getContainer(id).unpause());
  }

  async removeContainer(id: string, opts: { force: boolean; volumes: boolean }): Promise<void> {
    await wrap(() => this.docker.getContainer(id).remove({ force: opts.force, v: opts.volumes }));
  }

  async updateContainer(
    id: string,
    resources: Pick<HostConfig, 'Memory' | 'MemorySwap' | 'NanoCpus' | 'RestartPolicy'>,
  ): Promise<void> {
    await wrap(() => this.docker.getContainer(id).update(resources));
  }

  async containerLogs(id: string, tail: number): Promise<string> {
    const c = this.docker.getContainer(id);
    const info = await wrap(() => c.inspect());
    const raw = (await wrap(() =>
      c.logs({ stdout: true, stderr: true, tail, follow: false }),
    )) as unknown as Buffer;
    // without a TTY the stream is multiplexed: 8-byte frame headers before each chunk
    return info.Config.Tty ? raw.toString('utf8') : demux(raw);
  }

  async inspectImage(ref: string): Promise<ImageDetails | undefined> {
    try {
      const i = await wrap(() => this.docker.getImage(ref).inspect());
      return {
        id: i.Id,
        repoTags: i.RepoTags ?? [],
        repoDigests: i.RepoDigests ?? [],
        size: i.Size,
        created: i.Created,
        config: (i.Config ?? {}) as ImageDetails['config'],
      };
    } catch (e) {
      if (e instanceof EngineError && e.status === 404) return undefined;
      throw e;
    }
  }

  async loadImage(tarball: Readable): Promise<string[]> {
    const stream = await wrap(() => this.docker.loadImage(tarball, { quiet: true }));
    const out = await readAll(stream as Readable);
    // the answer is a JSON stream: {"stream":"Loaded image ID: sha256:..."} or {"error": ...}
    const loaded: string[] = [];
    for (const line of out.split('\n')) {
      if (!line.trim()) continue;
      let msg: { stream?: string; error?: string; errorDetail?: { message?: string } };
      try {
        msg = JSON.parse(line);
      } catch {
        throw new EngineError(400, `docker load: ${line.trim()}`);
      }
      if (msg.error) throw new EngineError(400, msg.errorDetail?.message ?? msg.error);
      const m = /Loaded image(?: ID)?: (\S+)/.exec(msg.stream ?? '');
      if (m) loaded.push(m[1]!);
    }
    return loaded;
  }

  async pullImage(ref: string, auth?: RegistryAuth): Promise<void> {
    const stream = (await wrap(() =>
      this.docker.pull(ref, auth ? { authconfig: auth } : {}),
    )) as unknown as Readable;
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (err: Error | null, output: { error?: string }[]) => {
        if (err) return reject(new EngineError(500, err.message));
        const failed = output.find((o) => o.error);
        if (failed) return reject(new EngineError(400, `pull ${ref}: ${failed.error}`));
        resolve();
      });
    });
  }

  async tagImage(ref: string, repo: string, tag: string): Promise<void> {
    await wrap(() => this.docker.getImage(ref).tag({ repo, tag }));
  }

  async removeImage(ref: string): Promise<void> {
    await wrap(() => this.docker.getImage(ref).remove({ noprune: false }));
  }

  async containersUsingImage(ref: string): Promise<number> {
    const list = await wrap(() => this.docker.listContainers({ all: true, filters: { ancestor: [ref] } }));
    return list.length;
  }

  async commitContainer(id: string, repo: string, tag: string): Promise<string> {
    const r = (await wrap(() => this.docker.getContainer(id).commit({ repo, tag, pause: true }))) as {
      Id: string;
    };
    return r.Id;
  }

  async saveImage(ref: string): Promise<Readable> {
    return (await wrap(() => this.docker.getImage(ref).get())) as unknown as Readable;
  }

  async createVolume(name: string, labels: Record<string, string>): Promise<void> {
    await wrap(() => this.docker.createVolume({ Name: name, Labels: labels }));
  }

  async listVolumes(labels: Record<string, string>): Promise<string[]> {
    const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    const r = await wrap(() => this.docker.listVolumes({ filters: { label } }));
    return (r.Volumes ?? []).map((v) => v.Name);
  }

  async removeVolume(name: string): Promise<void> {
    await wrap(() => this.docker.getVolume(name).remove());
  }

  async watchEvents(onEvent: (e: EngineEvent) => void, onError: (e: Error) => void): Promise<() => void> {
    const stream = (await wrap(() =>
      this.docker.getEvents({ filters: { type: ['container'] } }),
    )) as unknown as Readable;
    let buf = '';
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        try {
          const e = JSON.parse(line) as {
            Type: string;
            Action: string;
            Actor: { ID: string; Attributes: Record<string, string> };
          };
          onEvent({
            type: e.Type as EngineEvent['type'],
            action: e.Action,
            id: e.Actor.ID,
            attributes: e.Actor.Attributes ?? {},
          });
        } catch {
          // a partial or foreign line: events are advisory, the next sync corrects state
        }
      }
    });
    stream.on('error', onError);
    stream.on('end', () => onError(new Error('docker event stream ended')));
    return () => (stream as Readable & { destroy(): void }).destroy();
  }
}

/** dockerode errors carry Docker's HTTP status; keep it, and dockerd's own message. */
async function wrap<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const err = e as { statusCode?: number; json?: { message?: string }; message?: string; code?: string };
    if (typeof err.statusCode === 'number') {
      throw new EngineError(err.statusCode, err.json?.message ?? err.message ?? 'docker error');
    }
    // ENOENT/ECONNREFUSED on the socket: dockerd is down
    throw new EngineError(503, `dockerd unreachable: ${err.message ?? String(e)}`);
  }
}

function readAll(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}

/** Strips Docker's stream multiplexing headers ([type,0,0,0,size32be] + payload). */
export function demux(raw: Buffer): string {
  const parts: Buffer[] = [];
  let off = 0;
  while (off + 8 <= raw.length) {
    const size = raw.readUInt32BE(off + 4);
    parts.push(raw.subarray(off + 8, off + 8 + size));
    off += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
