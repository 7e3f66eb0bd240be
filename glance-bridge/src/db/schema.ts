// The registry's metadata: everything except the bytes. Table names carry
// an `oci_` prefix so the bridge can share a PostgreSQL database with other
// Berth services. Timestamps are ISO-8601 UTC strings (they sort as text on
// both backends); sizes are bigint, which PostgreSQL hands back as strings,
// so readers go through Number().

export interface ProjectsTable {
  /** Keystone project id */
  id: string;
  /** last name seen in a token for it (names can change) */
  name: string;
  domain_id: string | null;
  updated_at: string;
}

export interface RepositoriesTable {
  id: string;
  project_id: string;
  /** the repository inside the project (the name after `<project>/`) */
  name: string;
  /** 1: anyone may pull, anonymously too (an admin's decision) */
  public: number;
  created_at: string;
}

/** One row per unique object in the blob store, layers and manifests alike (global de-duplication). */
export interface BlobsTable {
  digest: string;
  size: string | number;
  kind: 'blob' | 'manifest';
  media_type: string | null;
  /** the storage driver's handle (a Glance image id); never derived from the digest */
  store_ref: string;
  /** manifests only: the exact bytes, so pulls need not ask Glance */
  content: Buffer | null;
  created_at: string;
  /** last time a repository linked it: the GC grace period counts from here */
  last_used_at: string;
}

/** A blob a repository may serve (pushed or mounted there). */
export interface RepoBlobsTable {
  repository_id: string;
  digest: string;
  created_at: string;
}

export interface ManifestsTable {
  repository_id: string;
  digest: string;
  media_type: string;
  size: string | number;
  /** referrers API: the manifest's `subject` digest */
  subject: string | null;
  /** referrers API: artifactType, else the config media type (image manifests) */
  artifact_type: string | null;
  /** JSON object of the manifest's annotations */
  annotations: string | null;
  /** config media type of image manifests (to tell bootable images from artifacts) */
  config_media_type: string | null;
  created_at: string;
}

/** What a manifest points at (layers, config, child manifests): what the GC keeps. */
export interface ManifestRefsTable {
  repository_id: string;
  manifest_digest: string;
  ref_digest: string;
}

export interface TagsTable {
  repository_id: string;
  name: string;
  digest: string;
  updated_at: string;
}

/** Blob upload sessions; the bytes are staged on local disk under the session id. */
export interface UploadsTable {
  id: string;
  repository_id: string;
  /** bytes received so far */
  size: string | number;
  started_at: string;
  updated_at: string;
  /** set once the bytes are verified: the blob is on its way to the store */
  digest: string | null;
}

/** Glance images registered in a user's project so Nova can boot a pushed image. */
export interface BootImagesTable {
  image_id: string;
  project_id: string;
  repository_id: string;
  /** the tag it was registered for; null for by-digest registrations and after the tag moved */
  tag: string | null;
  digest: string;
  created_at: string;
}

export interface RegistryTables {
  oci_projects: ProjectsTable;
  oci_repositories: RepositoriesTable;
  oci_blobs: BlobsTable;
  oci_repo_blobs: RepoBlobsTable;
  oci_manifests: ManifestsTable;
  oci_manifest_refs: ManifestRefsTable;
  oci_tags: TagsTable;
  oci_uploads: UploadsTable;
  oci_boot_images: BootImagesTable;
}
