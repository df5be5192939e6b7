/**
 * The only door to the Rust side. Components and stores call these functions; nothing
 * else imports `@tauri-apps/api/core`, the dialog plugin or the webview module.
 *
 * Every function rejects with an {@link ApiError} (never a bare string or Error), so
 * callers can branch on `code` and show `message` and `hint`.
 */
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { open, save } from "@tauri-apps/plugin-dialog";
import type { AddRemoteRequest } from "./bindings/AddRemoteRequest";
import type { ApiError } from "./bindings/ApiError";
import type { BuilderView } from "./bindings/BuilderView";
import type { BuildLogEvent } from "./bindings/BuildLogEvent";
import type { BuildLogView } from "./bindings/BuildLogView";
import type { BuildRequest } from "./bindings/BuildRequest";
import type { CacheCleanView } from "./bindings/CacheCleanView";
import type { CacheView } from "./bindings/CacheView";
import type { Catalog } from "./bindings/Catalog";
import type { CollectionView } from "./bindings/CollectionView";
import type { ContainerDetailView } from "./bindings/ContainerDetailView";
import type { ContainerView } from "./bindings/ContainerView";
import type { DefinitionCheckView } from "./bindings/DefinitionCheckView";
import type { DefinitionFileView } from "./bindings/DefinitionFileView";
import type { ImageDetails } from "./bindings/ImageDetails";
import type { ImportCandidate } from "./bindings/ImportCandidate";
import type { ImportReport } from "./bindings/ImportReport";
import type { JobView } from "./bindings/JobView";
import type { KeyHitView } from "./bindings/KeyHitView";
import type { KeyView } from "./bindings/KeyView";
import type { NewKeyRequest } from "./bindings/NewKeyRequest";
import type { PullRequest } from "./bindings/PullRequest";
import type { PushPlanView } from "./bindings/PushPlanView";
import type { PushRequest } from "./bindings/PushRequest";
import type { RegistryLoginView } from "./bindings/RegistryLoginView";
import type { RemoteStatusView } from "./bindings/RemoteStatusView";
import type { RemoteView } from "./bindings/RemoteView";
import type { SearchView } from "./bindings/SearchView";
import type { Settings } from "./bindings/Settings";
import type { Theme } from "./bindings/Theme";
import type { VerifyView } from "./bindings/VerifyView";

/** Codes produced by the UI itself (the backend's codes come from berth-core). */
export const UI_ERROR = {
  noBackend: "ui.no_backend",
  unexpected: "ui.unexpected",
} as const;

declare global {
  interface Window {
    __TAURI_INTERNALS__?: unknown;
  }
}

/** True when the page runs inside the Tauri webview (or a test that mocks it). */
export function hasBackend(): boolean {
  return typeof window !== "undefined" && window.__TAURI_INTERNALS__ !== undefined;
}

function noBackendError(): ApiError {
  return {
    code: UI_ERROR.noBackend,
    message: "Berth's backend is not available.",
    hint: "This page is the Berth window's interface. Start the Berth app to see your images.",
  };
}

export function isApiError(value: unknown): value is ApiError {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === "string" && typeof v.message === "string";
}

/** Turn anything a rejected promise may carry into an ApiError. */
export function toApiError(value: unknown): ApiError {
  if (isApiError(value)) {
    return { code: value.code, message: value.message, hint: value.hint ?? null };
  }
  let message: string;
  if (value instanceof Error) message = value.message;
  else if (typeof value === "string") message = value;
  else message = "Something went wrong.";
  return { code: UI_ERROR.unexpected, message, hint: null };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  if (!hasBackend()) throw noBackendError();
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw toApiError(e);
  }
}

// ---- catalog -------------------------------------------------------------------------

/** Local images and watched folders; the backend rescans watched folders on each call. */
export function catalogList(): Promise<Catalog> {
  return call<Catalog>("catalog_list");
}

/** Files become added images, directories become watched folders. */
export function catalogAddPaths(paths: string[]): Promise<Catalog> {
  return call<Catalog>("catalog_add_paths", { paths });
}

/** Forget an added image. The file stays on disk. */
export function catalogRemoveImage(path: string): Promise<Catalog> {
  return call<Catalog>("catalog_remove_image", { path });
}

/** Stop watching a folder. Nothing is deleted. */
export function catalogRemoveFolder(path: string): Promise<Catalog> {
  return call<Catalog>("catalog_remove_folder", { path });
}

// ---- images --------------------------------------------------------------------------

export function imageInspect(path: string): Promise<ImageDetails> {
  return call<ImageDetails>("image_inspect", { path });
}

/**
 * Sign every object group of the image with the key `fingerprint`, then verify it.
 * `passphrase` is null for a key without one. Rejects with `key.bad_passphrase` when the
 * passphrase is wrong.
 */
export function imageSign(path: string, fingerprint: string, passphrase: string | null): Promise<VerifyView> {
  return call<VerifyView>("image_sign", { path, fingerprint, passphrase });
}

/**
 * Check every signature of the image against the local and global keyrings. With
 * `fetchMissing`, keys of unknown signers are fetched from the keyservers for this check
 * only (not imported); their signatures then show key source "keyserver".
 */
export function imageVerify(path: string, fetchMissing: boolean): Promise<VerifyView> {
  return call<VerifyView>("image_verify", { path, fetchMissing });
}

// ---- keys ----------------------------------------------------------------------------

/** Backend error codes the key and signature views branch on. */
export const KEY_ERROR = {
  badPassphrase: "key.bad_passphrase",
  notFound: "key.not_found",
  cannotSign: "key.cannot_sign",
  keyringCorrupt: "key.keyring_corrupt",
  noSignatures: "integrity.no_signatures",
} as const;

/** Every key in Apptainer's keyrings: local public/secret keys and the global keyring. */
export function keysList(): Promise<KeyView[]> {
  return call<KeyView[]>("keys_list");
}

/** Create a key pair in the local keyrings. RSA 4096 can take several seconds. */
export function keysGenerate(request: NewKeyRequest): Promise<KeyView> {
  return call<KeyView>("keys_generate", { request });
}

/**
 * Import a key file (binary or armored, public or secret). `newPassphrase` re-encrypts
 * imported secret keys; null keeps them as they are. Resolves to the imported keys.
 */
export function keysImport(path: string, newPassphrase: string | null): Promise<KeyView[]> {
  return call<KeyView[]>("keys_import", { path, newPassphrase });
}

/** Write the public (or secret) key to `path`, armored or binary. */
export async function keysExport(fingerprint: string, secret: boolean, armor: boolean, path: string): Promise<void> {
  await call<null>("keys_export", { fingerprint, secret, armor, path });
}

/** Remove a key (public and secret parts) from the local keyrings. Resolves to the keys left. */
export function keysRemove(fingerprint: string): Promise<KeyView[]> {
  return call<KeyView[]>("keys_remove", { fingerprint });
}

// ---- keyservers ----------------------------------------------------------------------

/** Backend error codes the keyserver views branch on. */
export const KEYSERVER_ERROR = {
  notFound: "keyserver.not_found",
  unreachable: "keyserver.unreachable",
  unauthorized: "keyserver.unauthorized",
  secretKeyRefused: "keyserver.secret_key_refused",
  invalidUrl: "keyserver.invalid_url",
  insecureUrl: "keyserver.insecure_url",
} as const;

/** Search the configured keyservers (HKP) for a name, e-mail address or fingerprint. */
export function keyserverSearch(query: string): Promise<KeyHitView[]> {
  return call<KeyHitView[]>("keyserver_search", { query });
}

/** Fetch a key from the keyservers into the local public keyring; resolves to the imported keys. */
export function keyserverPull(fingerprint: string): Promise<KeyView[]> {
  return call<KeyView[]>("keyserver_pull", { fingerprint });
}

/**
 * Publish the PUBLIC key `fingerprint` (a secret key never leaves the machine). Resolves
 * to the server's answer, when it gave one.
 */
export function keyserverPush(fingerprint: string): Promise<string | null> {
  return call<string | null>("keyserver_push", { fingerprint });
}

// ---- remotes -------------------------------------------------------------------------

/** Backend error codes the remote and library views branch on. */
export const REMOTE_ERROR = {
  tokenInvalid: "auth.token_invalid",
  forbidden: "auth.forbidden",
  notFound: "library.not_found",
  unreachable: "net.unreachable",
  timeout: "net.timeout",
  tlsUntrusted: "net.tls_untrusted",
  keychainUnavailable: "keychain.unavailable",
  exists: "remote.exists",
  invalidUri: "remote.invalid_uri",
  insecureUri: "remote.insecure_uri",
  invalidName: "remote.invalid_name",
  invalidInput: "input.invalid",
} as const;

/** The library remotes; tokens never cross, only whether one is stored. */
export function remotesList(): Promise<RemoteView[]> {
  return call<RemoteView[]>("remotes_list");
}

/** Add a remote. Rejects with `remote.exists`, `remote.invalid_uri`, `remote.insecure_uri`, `remote.invalid_name`. */
export function remotesAdd(request: AddRemoteRequest): Promise<RemoteView> {
  return call<RemoteView>("remotes_add", { request });
}

/** Remove a remote and its token from the keychain. Resolves to the remotes left. */
export function remotesRemove(name: string): Promise<RemoteView[]> {
  return call<RemoteView[]>("remotes_remove", { name });
}

/** Make `name` the default remote. */
export function remotesUse(name: string): Promise<RemoteView[]> {
  return call<RemoteView[]>("remotes_use", { name });
}

/** Discovery, service versions and a token check; may take seconds. */
export function remoteStatus(name: string): Promise<RemoteStatusView> {
  return call<RemoteStatusView>("remote_status", { name });
}

/**
 * Check `token` with the remote's token service and, only when it is accepted, store it
 * in the system keychain. Rejects with `auth.token_invalid` (nothing stored) when refused.
 */
export function remoteLogin(name: string, token: string): Promise<RemoteStatusView> {
  return call<RemoteStatusView>("remote_login", { name, token });
}

/** Delete the remote's token from the keychain. */
export function remoteLogout(name: string): Promise<RemoteView[]> {
  return call<RemoteView[]>("remote_logout", { name });
}

/** Remotes found in Apptainer's remote.yaml files. */
export function remotesImportPreview(): Promise<ImportCandidate[]> {
  return call<ImportCandidate[]>("remotes_import_preview");
}

/** Import the named candidates; with `moveTokens` their tokens go into the keychain. */
export function remotesImport(names: string[], moveTokens: boolean): Promise<ImportReport> {
  return call<ImportReport>("remotes_import", { names, moveTokens });
}

// ---- registry logins (docker://, oras://) ----------------------------------------------

/** Backend error codes the registry login views branch on. */
export const REGISTRY_ERROR = {
  invalidHost: "registry.invalid_host",
  invalidLogin: "registry.invalid_login",
  keychainUnavailable: "keychain.unavailable",
} as const;

/**
 * Berth's registry logins and those found in Docker's config.json (read only). Passwords
 * never cross, only who is logged in where.
 */
export function registriesList(): Promise<RegistryLoginView[]> {
  return call<RegistryLoginView[]>("registries_list");
}

/**
 * Keep `password` (or a token) for `username` at `host` (`host[:port]`, `docker.io` for
 * Docker Hub) in the system keychain. Resolves to the logins now known. Rejects with
 * `registry.invalid_host`, `registry.invalid_login` or `keychain.unavailable`.
 */
export function registryLogin(host: string, username: string, password: string): Promise<RegistryLoginView[]> {
  return call<RegistryLoginView[]>("registry_login", { host, username, password });
}

/** Forget Berth's login for `host` (Docker's config.json is never changed). */
export function registryLogout(host: string): Promise<RegistryLoginView[]> {
  return call<RegistryLoginView[]>("registry_logout", { host });
}

// ---- library -------------------------------------------------------------------------

export function libraryCollections(remote: string, entity: string): Promise<CollectionView[]> {
  return call<CollectionView[]>("library_collections", { remote, entity });
}

export function libraryContainers(remote: string, entity: string, collection: string): Promise<ContainerView[]> {
  return call<ContainerView[]>("library_containers", { remote, entity, collection });
}

export function libraryContainer(
  remote: string,
  entity: string,
  collection: string,
  container: string,
): Promise<ContainerDetailView> {
  return call<ContainerDetailView>("library_container", { remote, entity, collection, container });
}

/** Search the remote's library; `arch` null means any architecture. */
export function librarySearch(remote: string, query: string, arch: string | null, signed: boolean): Promise<SearchView> {
  return call<SearchView>("library_search", { remote, query, arch, signed });
}

/** Delete one image, named by its `library://…:sha256.<hex>` reference. */
export async function libraryDelete(remote: string, reference: string, arch: string | null): Promise<void> {
  await call<null>("library_delete", { remote, reference, arch });
}

// ---- transfers (push, pull, jobs, cache) ----------------------------------------------

/** Backend error codes the push, pull and transfer views branch on. */
export const TRANSFER_ERROR = {
  destinationExists: "pull.destination_exists",
  noDestination: "pull.no_destination",
  unsupportedScheme: "ref.unsupported_scheme",
  invalidReference: "ref.invalid",
  noDefaultRemote: "remote.no_default",
  unverified: "push.unverified",
  overQuota: "quota.exceeded",
  unknownArch: "push.unknown_arch",
  jobNotFound: "job.not_found",
  jobRunning: "job.running",
} as const;

/**
 * What a push of `file` to `reference` would do: the file's size, arch and signatures, the
 * records it would create, the quota. Reads the whole file's signatures, so it may take a
 * second for big images. `remote` null means the default remote.
 */
export function transferPushPlan(remote: string | null, file: string, reference: string): Promise<PushPlanView> {
  return call<PushPlanView>("transfer_push_plan", { remote, file, reference });
}

/** Start a push; resolves at once to the new job, which then reports through `job-updated`. */
export function transferPush(request: PushRequest): Promise<JobView> {
  return call<JobView>("transfer_push", { request });
}

/**
 * Start a pull; resolves at once to the new job. Rejects at once with
 * `pull.destination_exists` (resend with `force`), `pull.no_destination` (no pull folder
 * chosen yet), `ref.unsupported_scheme` or `ref.invalid`.
 */
export function transferPull(request: PullRequest): Promise<JobView> {
  return call<JobView>("transfer_pull", { request });
}

/** Every job, newest first: running ones, finished ones, and those a quit interrupted. */
export function jobsList(): Promise<JobView[]> {
  return call<JobView[]>("jobs_list");
}

export function jobCancel(id: string): Promise<JobView> {
  return call<JobView>("job_cancel", { id });
}

/** Run a failed, cancelled or interrupted job again under the same id (a pull resumes when it can). */
export function jobRetry(id: string): Promise<JobView> {
  return call<JobView>("job_retry", { id });
}

/** Forget the finished jobs; resolves to the jobs left (the running ones). */
export function jobsClear(): Promise<JobView[]> {
  return call<JobView[]>("jobs_clear");
}

/** The images kept in the pull cache. */
export function cacheList(): Promise<CacheView> {
  return call<CacheView>("cache_list");
}

/**
 * Remove cached images not used for `olderThanDays` days (null: all of them). With
 * `dryRun` nothing is removed: the answer says what would be.
 */
export function cacheClean(olderThanDays: number | null, dryRun: boolean): Promise<CacheCleanView> {
  return call<CacheCleanView>("cache_clean", { olderThanDays, dryRun });
}

// ---- builds --------------------------------------------------------------------------

/** Backend error codes the Build page branches on. */
export const BUILD_ERROR = {
  invalidDefinition: "build.invalid_definition",
  needsRemote: "build.needs_remote",
  remoteUnsupported: "build.remote_unsupported",
  noBuilder: "remote.no_builder",
} as const;

/**
 * What the definition-file parser says about `text`: errors and warnings positioned for
 * the editor, and whether Berth can build it without a build service. Cheap: no file access.
 */
export function buildCheck(text: string): Promise<DefinitionCheckView> {
  return call<DefinitionCheckView>("build_check", { text });
}

/** Read a definition file for the editor. */
export function definitionOpen(path: string): Promise<DefinitionFileView> {
  return call<DefinitionFileView>("definition_open", { path });
}

/** Write `text` to `path` (replacing the file in one step). */
export function definitionSave(path: string, text: string): Promise<DefinitionFileView> {
  return call<DefinitionFileView>("definition_save", { path, text });
}

/** The remotes and the build service each advertises (discovery may take seconds). */
export function buildersList(): Promise<BuilderView[]> {
  return call<BuilderView[]>("builders_list");
}

/**
 * Start a build (or, with `attach`, follow one already submitted); resolves at once to the
 * job, which then reports through `job-updated` and its lines through `build-log`. Rejects
 * at once with `build.invalid_definition`, `build.remote_unsupported`,
 * `pull.destination_exists` (resend with `force`), `pull.no_destination`, `remote.no_default`.
 */
export function buildStart(request: BuildRequest): Promise<JobView> {
  return call<JobView>("build_start", { request });
}

/** A build's log lines so far (the newest ones, when the log was capped). */
/** Follow job `jobId`'s detached (or cut off) remote build to its image, as a new job. */
export function buildAttach(jobId: string): Promise<JobView> {
  return call<JobView>("build_attach", { jobId });
}

export function buildLog(jobId: string): Promise<BuildLogView> {
  return call<BuildLogView>("build_log", { jobId });
}

/** Event the backend sends with each new line of a build's log. */
export const BUILD_LOG = "build-log";

/** Call `handler` with the new lines of every build. Resolves to a function that stops listening. */
export async function onBuildLog(handler: (event: BuildLogEvent) => void): Promise<() => void> {
  if (!hasBackend()) return () => {};
  const unlisten = await listen<BuildLogEvent>(BUILD_LOG, (event) => handler(event.payload));
  return () => {
    Promise.resolve()
      .then(() => unlisten())
      .catch(() => {});
  };
}

// ---- settings ------------------------------------------------------------------------

/** Where Apptainer's keyrings are on this machine (the folder `apptainer key` uses). */
export function keysLocation(): Promise<string> {
  return call<string>("keys_location");
}

export function settingsGet(): Promise<Settings> {
  return call<Settings>("settings_get");
}

export function settingsSetTheme(theme: Theme): Promise<Settings> {
  return call<Settings>("settings_set_theme", { theme });
}

/** Replace the keyserver URLs (tried in order). Rejects with `keyserver.invalid_url` or `keyserver.insecure_url`. */
export function settingsSetKeyservers(keyservers: string[]): Promise<Settings> {
  return call<Settings>("settings_set_keyservers", { keyservers });
}

/** The folder pulled images go to when a pull names none (null forgets it). */
export function settingsSetPullFolder(folder: string | null): Promise<Settings> {
  return call<Settings>("settings_set_pull_folder", { folder });
}

// ---- native dialogs ------------------------------------------------------------------

/** Ask for SIF files. Resolves to [] when the person cancels. */
export async function pickImages(): Promise<string[]> {
  if (!hasBackend()) throw noBackendError();
  try {
    const picked = await open({
      multiple: true,
      filters: [{ name: "SIF images", extensions: ["sif"] }],
    });
    if (picked === null) return [];
    return Array.isArray(picked) ? picked : [picked];
  } catch (e) {
    throw toApiError(e);
  }
}

/** Ask for one folder (to watch, by default). Resolves to null when the person cancels. */
export async function pickFolder(title?: string): Promise<string | null> {
  if (!hasBackend()) throw noBackendError();
  try {
    const picked = await open(title === undefined ? { directory: true } : { directory: true, title });
    if (picked === null) return null;
    return Array.isArray(picked) ? (picked[0] ?? null) : picked;
  } catch (e) {
    throw toApiError(e);
  }
}

/** Ask for one SIF file (e.g. to push). Resolves to null when the person cancels. */
export async function pickImage(): Promise<string | null> {
  if (!hasBackend()) throw noBackendError();
  try {
    const picked = await open({
      multiple: false,
      filters: [{ name: "SIF images", extensions: ["sif"] }],
    });
    if (picked === null) return null;
    return Array.isArray(picked) ? (picked[0] ?? null) : picked;
  } catch (e) {
    throw toApiError(e);
  }
}

/** File name extensions of OpenPGP key files, as the import picker and drops accept them. */
export const KEY_FILE_EXTENSIONS = ["asc", "gpg", "pgp", "key"] as const;

/** Ask for one OpenPGP key file. Resolves to null when the person cancels. */
export async function pickKeyFile(): Promise<string | null> {
  if (!hasBackend()) throw noBackendError();
  try {
    const picked = await open({
      multiple: false,
      filters: [{ name: "OpenPGP keys", extensions: [...KEY_FILE_EXTENSIONS] }],
    });
    if (picked === null) return null;
    return Array.isArray(picked) ? (picked[0] ?? null) : picked;
  } catch (e) {
    throw toApiError(e);
  }
}

/** File name extensions of definition files. */
export const DEFINITION_EXTENSIONS = ["def"] as const;

/** Ask for one definition file. Resolves to null when the person cancels. */
export async function pickDefinition(): Promise<string | null> {
  if (!hasBackend()) throw noBackendError();
  try {
    const picked = await open({
      multiple: false,
      filters: [
        { name: "Definition files", extensions: [...DEFINITION_EXTENSIONS] },
        { name: "All files", extensions: ["*"] },
      ],
    });
    if (picked === null) return null;
    return Array.isArray(picked) ? (picked[0] ?? null) : picked;
  } catch (e) {
    throw toApiError(e);
  }
}

/** Ask where to save a definition file, starting at `defaultPath`. Resolves to null when cancelled. */
export async function pickDefinitionSavePath(defaultPath: string): Promise<string | null> {
  if (!hasBackend()) throw noBackendError();
  try {
    return await save({
      defaultPath,
      title: "Save the definition file",
      filters: [{ name: "Definition files", extensions: [...DEFINITION_EXTENSIONS] }],
    });
  } catch (e) {
    throw toApiError(e);
  }
}

/** Ask where to save a file, starting at `defaultPath`. Resolves to null when cancelled. */
export async function pickSavePath(defaultPath: string, title?: string): Promise<string | null> {
  if (!hasBackend()) throw noBackendError();
  try {
    return await save(title === undefined ? { defaultPath } : { defaultPath, title });
  } catch (e) {
    throw toApiError(e);
  }
}

// ---- web pages -----------------------------------------------------------------------

/** Open an http(s) page (a container's page, a token page) in the person's browser. */
export async function openWebPage(url: string): Promise<void> {
  await call<null>("open_web_page", { url });
}

// ---- drag and drop -------------------------------------------------------------------

export type FileDropEvent =
  | { type: "enter"; paths: string[] }
  | { type: "over" }
  | { type: "drop"; paths: string[] }
  | { type: "leave" };

/**
 * Follow files dragged from the OS onto the window. Resolves to a function that stops
 * listening. Outside Tauri (a plain browser) this listens to nothing.
 */
export async function onFileDrop(handler: (event: FileDropEvent) => void): Promise<() => void> {
  if (!hasBackend()) return () => {};
  const unlisten = await getCurrentWebview().onDragDropEvent((event) => {
    const p = event.payload;
    switch (p.type) {
      case "enter":
        handler({ type: "enter", paths: p.paths });
        break;
      case "over":
        handler({ type: "over" });
        break;
      case "drop":
        handler({ type: "drop", paths: p.paths });
        break;
      case "leave":
        handler({ type: "leave" });
        break;
    }
  });
  return () => {
    // The window may already be going away; nothing useful to do if this fails.
    // (The type says void, but Tauri's unlisten is async and may reject.)
    Promise.resolve()
      .then(() => unlisten())
      .catch(() => {});
  };
}

// ---- watched folders ------------------------------------------------------------------

/** Event the backend sends when something changed inside a watched folder. */
export const CATALOG_CHANGED = "catalog-changed";

/**
 * Call `handler` when a watched folder changes on disk. The OS reports a file copy as a
 * burst of changes, so calls are coalesced: one per quiet period of `settleMs`.
 * Resolves to a function that stops listening.
 */
export async function onCatalogChanged(handler: () => void, settleMs = 300): Promise<() => void> {
  if (!hasBackend()) return () => {};
  let timer: ReturnType<typeof setTimeout> | undefined;
  const unlisten = await listen(CATALOG_CHANGED, () => {
    clearTimeout(timer);
    timer = setTimeout(handler, settleMs);
  });
  return () => {
    clearTimeout(timer);
    Promise.resolve()
      .then(() => unlisten())
      .catch(() => {});
  };
}

// ---- jobs ----------------------------------------------------------------------------

/** Event the backend sends when a job moves: a few times a second, and on every state or phase change. */
export const JOB_UPDATED = "job-updated";

/** Call `handler` with each job as it changes. Resolves to a function that stops listening. */
export async function onJobUpdated(handler: (job: JobView) => void): Promise<() => void> {
  if (!hasBackend()) return () => {};
  const unlisten = await listen<JobView>(JOB_UPDATED, (event) => handler(event.payload));
  return () => {
    Promise.resolve()
      .then(() => unlisten())
      .catch(() => {});
  };
}
