/**
 * What this host offers Nova: CPU and memory from dockerd, disk from the
 * filesystem holding Docker's data, minus the operator's reservations (which
 * the shim puts in Placement's `reserved`), plus `uptime` as Nova shows it.
 */
import { readFileSync, statfsSync } from 'node:fs';
import { arch, loadavg } from 'node:os';

import type { ContainerEngine } from '../docker/engine';

export interface Reservations {
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
}

export interface HostResources {
  vcpus: number;
  memory_mb: number;
  local_gb: number;
  disk_available_least: number;
  reserved: Reservations;
  hypervisor_type: 'docker';
  hypervisor_version: number;
  docker_version: string;
  cpu_info: {
    arch: string;
    model: string;
    vendor: string;
    topology: { sockets: number; cores: number; threads: number };
    features: string[];
  };
  uptime: string;
}

const GiB = 1024 ** 3;

export async function hostResources(engine: ContainerEngine, reserved: Reservations): Promise<HostResources> {
  const info = await engine.info();
  const fs = statfsSync(info.dockerRootDir);
  return {
    vcpus: info.ncpu,
    memory_mb: Math.floor(info.memTotal / 1024 / 1024),
    local_gb: Math.floor((fs.blocks * fs.bsize) / GiB),
    disk_available_least: Math.floor((fs.bavail * fs.bsize) / GiB),
    reserved,
    hypervisor_type: 'docker',
    hypervisor_version: versionNumber(info.serverVersion),
    docker_version: info.serverVersion,
    cpu_info: cpuInfo(info.ncpu),
    uptime: uptimeLine(),
  };
}

/** "20.10.24+dfsg1" -> 20010024, as Nova's hypervisor_version integers go */
export function versionNumber(v: string): number {
  const [a = 0, b = 0, c = 0] = v.split(/[.+-]/).map((x) => parseInt(x, 10) || 0);
  return a * 1_000_000 + b * 1_000 + c;
}

function cpuInfo(ncpu: number): HostResources['cpu_info'] {
  let model = 'unknown';
  let vendor = 'unknown';
  let features: string[] = [];
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    model = /^model name\s*:\s*(.+)$/m.exec(text)?.[1] ?? model;
    vendor = /^vendor_id\s*:\s*(.+)$/m.exec(text)?.[1] ?? vendor;
    features = (/^flags\s*:\s*(.+)$/m.exec(text)?.[1] ?? '').split(/\s+/).filter(Boolean);
  } catch {
    // not Linux: report what Node knows
  }
  return {
    arch: arch() === 'x64' ? 'x86_64' : arch(),
    model,
    vendor,
    topology: { sockets: 1, cores: ncpu, threads: 1 },
    features,
  };
}

/** the line `uptime` prints, which is what Nova's get_host_uptime returns */
export function uptimeLine(
  now = new Date(),
  uptimeSeconds = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]),
): string {
  const t = now.toTimeString().slice(0, 8);
  const mins = Math.floor(uptimeSeconds / 60);
  const days = Math.floor(mins / 1440);
  const hm = `${Math.floor((mins % 1440) / 60)}:${String(mins % 60).padStart(2, '0')}`;
  const up = days ? `${days} day${days > 1 ? 's' : ''}, ${hm}` : mins < 60 ? `${mins} min` : hm;
  const la = loadavg().map((x) => x.toFixed(2));
  return ` ${t} up ${up},  0 users,  load average: ${la.join(', ')}`;
}
