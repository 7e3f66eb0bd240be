// Assembles the bridge from its configuration: SQL metadata, the storage
// driver, the registry core, token auth and the HTTP API. Used by the
// daemon (cli/main.ts), the GC command and the integration tests, which run
// private instances with their own config.

import { join } from 'node:path';

import { GlanceClient } from '@berth/openstack-clients';
import {
  createApiServer,
  keystoneAuthenticator,
  keystoneFromConfig,
  type Logger,
  openDatabase,
  ServiceMetrics,
} from '@berth/service-kit';
import type { FastifyInstance } from 'fastify';

import { adminRoutes } from './api/admin-routes';
import { OciAuthorizer } from './api/auth/authorize';
import { KeystoneIdentities } from './api/auth/identity';
import { registerTokenRoute } from './api/auth/token-route';
import { loadSigningKey, TokenSigner } from './api/auth/tokens';
import { renderOciError } from './api/errors';
import { ociRoutes } from './api/oci/routes';
import type { BridgeConfig } from './config';
import { BlobCache } from './core/blob-cache';
import { BootImages } from './core/boot-images';
import { Registry } from './core/registry';
import { type UploadMetrics, UploadService } from './core/uploads';
import { MIGRATION_TABLE, registryMigrations } from './db/migrations';
import { RegistryDb } from './db/registry-db';
import type { RegistryTables } from './db/schema';
import { contract } from './openapi';
import type { BlobStore } from './storage/driver';
import { FilesystemBlobStore } from './storage/filesystem';
import { GlanceBlobStore } from './storage/glance';
import { GlanceBootImages } from './storage/glance-boot-images';

export const SERVICE_NAME = 'berth-glance-bridge';

export interface Bridge {
  app: FastifyInstance;
  registry: Registry;
  store: BlobStore;
  db: RegistryDb;
  metrics: ServiceMetrics;
  /** the host:port Nova's docker daemons pull from */
  registryHost: () => string;
  close(): Promise<void>;
}

export function dbUrl(c: BridgeConfig): string {
  return c.database.connection || `sqlite:///${join(c.DEFAULT.state_dir, 'registry.db')}`;
}

/** The parts without HTTP (the GC command uses these). */
/** `withCache`: the daemon owns the blob cache; commands (GC) only remove entries. */
export async function openCore(c: BridgeConfig, logger: Logger, metrics?: ServiceMetrics, withCache = false) {
  const url = dbUrl(c);
  const handle = await openDatabase<RegistryTables>(url, {
    migrations: registryMigrations(url.startsWith('sqlite') ? 'sqlite' : 'postgres'),
    migrationTable: MIGRATION_TABLE,
    logger,
  });
  const db = new RegistryDb(handle.db);
  const keystone = keystoneFromConfig(c.keystone_authtoken, logger);
  let store: BlobStore;
  let bootImages: BootImages | undefined;
  const registryHost = () =>
    c.nova.registry_host || hostOf(c.api.public_url) || `${c.api.bind_host}:${c.api.bind_port}`;
  if (c.storage.driver === 'glance') {
    const glance = new GlanceClient(keystone.session, {
      interface: c.glance.interface as 'public' | 'internal' | 'admin',
      region: c.keystone_authtoken.region_name,
      ...(c.glance.endpoint_override ? { endpointOverride: c.glance.endpoint_override } : {}),
    });
    store = new GlanceBlobStore(glance, c.glance.namespace, logger);
    bootImages = new BootImages(
      db,
      new GlanceBootImages(glance),
      () => ({
        registry: registryHost(),
        registryUrl: c.api.public_url.replace(/\/+$/, '') || `http://${registryHost()}`,
      }),
      logger,
    );
  } else {
    store = new FilesystemBlobStore(c.storage.filesystem_root || join(c.DEFAULT.state_dir, 'objects'));
  }
  const storeBytes = metrics?.counter(
    'berth_registry_store_bytes_total',
    'Bytes the registry sent to its blob store (Glance), by object kind',
    ['kind'],
  );
  const dedups = metrics?.counter(
    'berth_registry_dedup_total',
    'Pushes (blobs, mounts, manifests) satisfied by bytes already in the store',
    ['kind'],
  );
  const uploadMetrics: UploadMetrics = {
    storeBytes: (kind, n) => storeBytes?.inc({ kind }, n),
    dedup: (kind) => dedups?.inc({ kind }),
  };
  const cache = new BlobCache(
    c.cache.dir || join(c.DEFAULT.state_dir, 'cache'),
    c.cache.max_size_mb * 1024 * 1024,
    logger,
  );
  if (withCache) await cache.init();
  const uploads = new UploadService(
    db,
    store,
    {
      stagingDir: c.upload.staging_dir || join(c.DEFAULT.state_dir, 'uploads'),
      sessionTtl: c.upload.session_ttl,
    },
    logger,
    uploadMetrics,
    withCache ? cache : undefined,
  );
  const registry = new Registry(
    db,
    store,
    uploads,
    bootImages,
    { maxManifestBytes: c.api.max_manifest_bytes, registerOnPush: c.nova.register_on_push },
    logger,
    uploadMetrics,
    withCache ? cache : undefined,
  );
  return { db, handle, keystone, store, registry, bootImages, registryHost, cache };
}

function hostOf(url: string): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

export async function createBridge(c: BridgeConfig, logger: Logger): Promise<Bridge> {
  const metrics = new ServiceMetrics(SERVICE_NAME);
  const core = await openCore(c, logger, metrics, c.cache.max_size_mb > 0);
  const signer = new TokenSigner(
    loadSigningKey(c.token.secret_key, join(c.DEFAULT.state_dir, 'token.key')),
    SERVICE_NAME,
    c.api.service_name,
    c.token.expiration,
  );
  const authz = new OciAuthorizer(signer, core.db, {
    serviceName: c.api.service_name,
    publicUrl: c.api.public_url,
  });
  const identities = new KeystoneIdentities({
    authUrl: c.keystone_authtoken.auth_url,
    validator: core.keystone.validator,
    globalReadRoles: c.auth.global_read_roles,
    cacheSeconds: c.auth.credential_cache_time,
    logger,
    userAgent: SERVICE_NAME,
  });

  const app = createApiServer({
    service: SERVICE_NAME,
    logger,
    metrics,
    renderError: renderOciError,
    authenticate: keystoneAuthenticator(core.keystone.validator),
    healthChecks: {
      database: () => core.db.ping(),
      store: () => core.store.check(),
    },
  });
  app.addSchema(contract.bundle());
  registerTokenRoute(app, {
    signer,
    identities,
    db: core.db,
    readOnlyRoles: c.auth.read_only_roles,
    logger,
  });
  await app.register(ociRoutes, {
    registry: core.registry,
    authz,
    maxManifestBytes: c.api.max_manifest_bytes,
  });
  await app.register(adminRoutes, {
    registry: core.registry,
    bootImages: core.bootImages,
    adminRoles: c.auth.admin_roles,
  });

  // blobs a restart left on their way to the store go on
  await core.registry.uploads.resumeStoring();
  // idle upload sessions are cancelled in the background too, not only by the GC command
  const reaper = setInterval(() => {
    void core.registry.uploads
      .reapIdle()
      .catch((e: unknown) => logger.warn({ err: String(e) }, 'upload reaper failed'));
  }, 10 * 60_000);
  reaper.unref();

  return {
    app,
    registry: core.registry,
    store: core.store,
    db: core.db,
    metrics,
    registryHost: core.registryHost,
    close: async () => {
      clearInterval(reaper);
      await app.close();
      await core.registry.uploads.idle();
      await core.handle.close();
    },
  };
}
