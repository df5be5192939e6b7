/**
 * A fake Berth backend for component tests, on top of `mockIPC`: it keeps a catalog and
 * settings, records every command, and lets a test replace any command's answer.
 */
import { emit } from "@tauri-apps/api/event";
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import type { AddRemoteRequest } from "../lib/bindings/AddRemoteRequest";
import type { BuilderView } from "../lib/bindings/BuilderView";
import type { BuildRequest } from "../lib/bindings/BuildRequest";
import type { DefinitionCheckView } from "../lib/bindings/DefinitionCheckView";
import type { DefinitionIssueView } from "../lib/bindings/DefinitionIssueView";
import type { CacheView } from "../lib/bindings/CacheView";
import type { JobView } from "../lib/bindings/JobView";
import type { PullRequest } from "../lib/bindings/PullRequest";
import type { PushPlanView } from "../lib/bindings/PushPlanView";
import type { PushRequest } from "../lib/bindings/PushRequest";
import type { RegistryLoginView } from "../lib/bindings/RegistryLoginView";
import type { Catalog } from "../lib/bindings/Catalog";
import type { ContainerDetailView } from "../lib/bindings/ContainerDetailView";
import type { ImportCandidate } from "../lib/bindings/ImportCandidate";
import type { ImportReport } from "../lib/bindings/ImportReport";
import type { RemoteStatusView } from "../lib/bindings/RemoteStatusView";
import type { RemoteView } from "../lib/bindings/RemoteView";
import type { SearchView } from "../lib/bindings/SearchView";
import type { ImageDetails } from "../lib/bindings/ImageDetails";
import type { KeyAlgorithm } from "../lib/bindings/KeyAlgorithm";
import type { KeyHitView } from "../lib/bindings/KeyHitView";
import type { KeyView } from "../lib/bindings/KeyView";
import type { NewKeyRequest } from "../lib/bindings/NewKeyRequest";
import type { Theme } from "../lib/bindings/Theme";
import type { VerifyView } from "../lib/bindings/VerifyView";
import type { Settings } from "../lib/bindings/Settings";
import {
  busyboxDetails,
  GOOD_TOKEN,
  image,
  job,
  key,
  KEYSERVER,
  NOW_MS,
  pushPlan,
  remote,
  sampleHits,
  validSignature,
  verifiedView,
} from "./fixtures";

export type Call = { cmd: string; args: Record<string, unknown> };
type Handler = (args: Record<string, unknown>) => unknown;

export interface FakeBackendOptions {
  catalog?: Catalog;
  theme?: Theme;
  details?: (path: string) => ImageDetails;
  /** The keyrings; none by default. */
  keys?: KeyView[];
  /** What image_verify answers; a verified busybox signature by default. */
  verify?: (path: string, fetchMissing: boolean) => VerifyView;
  /** The configured keyservers; keys.openpgp.org by default. */
  keyservers?: string[];
  /** What the keyserver holds; {@link sampleHits} by default. */
  keyserverHits?: KeyHitView[];
  /** The library remotes; none by default. */
  remotes?: RemoteView[];
  /** Registry logins, Berth's and Docker config.json's; none by default. */
  registryLogins?: RegistryLoginView[];
  /** What remotes_import_preview finds in Apptainer's remote.yaml files; none by default. */
  importCandidates?: ImportCandidate[];
  /** The library (the same for every remote): entity → collection → containers. */
  library?: Record<string, Record<string, ContainerDetailView[]>>;
  /** The transfer jobs, newest first; none by default. */
  jobs?: JobView[];
  /** The pull cache; empty by default. */
  cache?: CacheView;
  /** What transfer_push_plan answers; {@link pushPlan} for the asked file and reference by default. */
  pushPlan?: (remote: string, file: string, reference: string) => PushPlanView;
  /** The folder for pulled images from the settings; none by default. */
  pullFolder?: string | null;
  /** Files already on disk: a pull that would write one needs `force`. */
  existingFiles?: string[];
  /** The remotes' build services; one per remote (with its login and default) by default. */
  builders?: BuilderView[];
  /** Definition files on disk, by path. */
  definitionFiles?: Record<string, string>;
  /** Build logs so far, by job id. */
  buildLogs?: Record<string, string[]>;
  /** Replace a command: return a value, a promise, or throw an ApiError to reject. */
  handlers?: Record<string, Handler>;
}

const HEADER_KEYS = ["bootstrap", "from", "stage", "includecmd", "mirrorurl", "osversion", "include", "fingerprints", "registry", "namespace"];
const SECTIONS = ["setup", "files", "post", "environment", "runscript", "startscript", "test", "labels", "help", "arguments"];
const EXECUTING = ["setup", "post", "test"];
const LOCAL_AGENTS = ["docker", "library", "oras", "localimage", "scratch"];

/** As the Rust parser names placeholders: `{{ NAME }}`, each once, in order of first use. */
function fakePlaceholders(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(/\{\{[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*\}\}/g)) {
    if (!names.includes(m[1])) names.push(m[1]);
  }
  return names;
}

/**
 * A small stand-in for the Rust parser: a `Bootstrap:` is required, unknown `%sections`
 * are errors, unknown header keys are warnings; sections that run commands and agents
 * Berth cannot start from make a local build impossible.
 */
export function fakeCheck(text: string): DefinitionCheckView {
  const errors: DefinitionIssueView[] = [];
  const warnings: DefinitionIssueView[] = [];
  const executing: string[] = [];
  let bootstrap: string | null = null;
  let from: string | null = null;
  let inHeader = true;
  let inHostFiles = false;
  let relativeFilesLine: number | null = null;
  text.split(/\r\n|\r|\n/).forEach((line, i) => {
    const n = i + 1;
    const section = /^%([A-Za-z]+)/.exec(line);
    if (section) {
      inHeader = false;
      const name = section[1].toLowerCase();
      inHostFiles = name === "files" && !/^%files\s+from\b/i.test(line);
      if (!SECTIONS.includes(name)) {
        errors.push({
          line: n,
          column: 1,
          code: "def.unknown_section",
          message: `unknown section %${section[1]}`,
          hint: "Sections are %post, %files, %environment, %runscript, %labels, %help, …",
        });
      } else if (EXECUTING.includes(name) && !executing.includes(`%${name}`)) {
        executing.push(`%${name}`);
      }
      return;
    }
    const source = line.trim().split(/\s+/)[0] ?? "";
    if (inHostFiles && source !== "" && !source.startsWith("#") && !source.startsWith("/") && relativeFilesLine === null) {
      relativeFilesLine = n;
    }
    if (!inHeader) return;
    const header = /^(\s*)([A-Za-z][A-Za-z0-9]*)\s*:\s*(.*)$/.exec(line);
    if (!header) return;
    const key = header[2].toLowerCase();
    if (key === "bootstrap") bootstrap = header[3].trim().toLowerCase();
    else if (key === "from") from = header[3].trim();
    else if (!HEADER_KEYS.includes(key)) {
      warnings.push({ line: n, column: header[1].length + 1, code: "def.unknown_header", message: `unknown header keyword ${header[2]}`, hint: null });
    }
  });
  if (bootstrap === null) {
    errors.unshift({ line: 1, column: 1, code: "def.no_bootstrap", message: "the header has no Bootstrap: line", hint: "Start the file with a line like Bootstrap: docker." });
  }
  if (errors.length > 0) {
    return {
      errors,
      warnings: [],
      bootstrap: null,
      from: null,
      stages: 0,
      localBuildable: false,
      executingSections: [],
      localReason: "Fix the errors first.",
      relativeFilesLine: null,
      placeholders: fakePlaceholders(text),
    };
  }
  const agentLocal = LOCAL_AGENTS.includes(bootstrap ?? "");
  const localBuildable = agentLocal && executing.length === 0;
  const localReason = localBuildable
    ? null
    : executing.length > 0
      ? `${executing.join(", ")} run${executing.length === 1 ? "s" : ""} commands inside the image while it is built, which needs a build service.`
      : `Bootstrap: ${bootstrap} needs a build service; Berth itself starts from docker, library, oras, localimage, scratch bases.`;
  return { errors, warnings, bootstrap, from, stages: 1, localBuildable, executingSections: executing, localReason, relativeFilesLine, placeholders: fakePlaceholders(text) };
}

const ALGORITHM_NAMES: Record<KeyAlgorithm, string> = {
  rsa4096: "RSA 4096",
  rsa3072: "RSA 3072",
  ed25519: "EdDSA Ed25519",
};

function userId(request: NewKeyRequest): string {
  return `${request.name}${request.comment ? ` (${request.comment})` : ""} <${request.email}>`;
}

const KEYSERVER_NOT_FOUND = {
  code: "keyserver.not_found",
  message: "no matching keys found",
  hint: "Check the fingerprint, or ask the signer to publish their key.",
};

/** As the backend checks a keyserver URL: https, or plain http for this machine only. */
function checkKeyserverUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw { code: "keyserver.invalid_url", message: `invalid keyserver URL: ${url}`, hint: null };
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw { code: "keyserver.invalid_url", message: `invalid keyserver URL: ${url}: use http or https`, hint: null };
  }
  const local = ["localhost", "127.0.0.1", "[::1]"].includes(parsed.hostname);
  if (parsed.protocol === "http:" && !local) {
    throw {
      code: "keyserver.insecure_url",
      message: `refusing plain http for keyserver ${url}: use https, or allow http explicitly`,
      hint: null,
    };
  }
}

/** Does a keyserver hit match a search, as HKP's index does (text in a user id, or the fingerprint)? */
function matches(hit: KeyHitView, query: string): boolean {
  const q = query.trim().toLowerCase();
  const hex = q.replace(/^0x/, "").replace(/\s+/g, "").toUpperCase();
  if (/^[0-9A-F]{8,64}$/.test(hex) && hit.fingerprint.endsWith(hex)) return true;
  return hit.userIds.some((u) => u.toLowerCase().includes(q));
}

function fakeFingerprint(n: number): string {
  return `FA4E${String(n).padStart(4, "0")}`.padEnd(40, "0").toUpperCase();
}

export function fakeBackend(options: FakeBackendOptions = {}) {
  const state = {
    catalog: structuredClone(options.catalog ?? { images: [], folders: [] }),
    theme: options.theme ?? ("system" as Theme),
    keys: structuredClone(options.keys ?? []),
    keyservers: [...(options.keyservers ?? [KEYSERVER])],
    keyserverHits: structuredClone(options.keyserverHits ?? sampleHits()),
    remotes: structuredClone(options.remotes ?? []),
    /** Tokens "in the keychain", by remote name; the UI never gets them back. */
    tokens: new Map<string, string>(),
    importCandidates: structuredClone(options.importCandidates ?? []),
    registryLogins: structuredClone(options.registryLogins ?? []),
    /** Registry passwords "in the keychain", by host; the UI never gets them back. */
    registryPasswords: new Map<string, string>(),
    library: structuredClone(options.library ?? {}),
    jobs: structuredClone(options.jobs ?? []),
    cache: structuredClone(options.cache ?? { dir: "/home/ana/.cache/berth/library", entries: [], totalBytes: 0 }),
    pullFolder: options.pullFolder ?? null,
    existingFiles: new Set(options.existingFiles ?? []),
    builders: structuredClone(options.builders ?? null) as BuilderView[] | null,
    definitionFiles: new Map(Object.entries(options.definitionFiles ?? {})),
    buildLogs: new Map(Object.entries(structuredClone(options.buildLogs ?? {}))),
  };
  for (const r of state.remotes) if (r.loggedIn) state.tokens.set(r.name, GOOD_TOKEN);
  const findRemote = (name: unknown): RemoteView => {
    const found = state.remotes.find((r) => r.name === name);
    if (!found) throw { code: "input.invalid", message: `There is no remote named ${String(name)}.`, hint: null };
    return found;
  };
  const status = (r: RemoteView): RemoteStatusView => {
    const token = state.tokens.get(r.name);
    const valid = token === GOOD_TOKEN;
    return {
      remote: r,
      discoveryError: null,
      services: [
        { name: "library", url: `${r.baseUrl}/library`, version: "2.1.0", error: null },
        { name: "token", url: `${r.baseUrl}/auth`, version: "1.4.2", error: null },
        {
          name: "keyserver",
          url: `${r.baseUrl}/keys`,
          version: null,
          error: { code: "net.unreachable", message: "The keyserver did not answer.", hint: null },
        },
      ],
      token: token === undefined ? "none" : valid ? "valid" : "invalid",
      user: valid ? "ana" : null,
      entity: valid ? "ana" : null,
      tokenPage: `${r.baseUrl}/auth/tokens`,
    };
  };
  const containersOf = (args: Record<string, unknown>): ContainerDetailView[] => {
    findRemote(args.remote);
    const collections = state.library[args.entity as string];
    if (!collections) throw { code: "library.not_found", message: `No entity ${String(args.entity)}.`, hint: null };
    if (args.collection === undefined) return [];
    const list = collections[args.collection as string];
    if (!list) throw { code: "library.not_found", message: `No collection ${String(args.collection)}.`, hint: null };
    return list;
  };
  const settings = (): Settings => ({ theme: state.theme, keyservers: [...state.keyservers], pullFolder: state.pullFolder });
  const defaultRemoteName = (name: unknown): string => {
    if (typeof name === "string" && name !== "") return findRemote(name).name;
    const found = state.remotes.find((r) => r.isDefault);
    if (!found) throw { code: "remote.no_default", message: "no remote given and no default remote is set", hint: null };
    return found.name;
  };
  /** As the backend reads a reference: library:// or a bare path (pulls: docker:// too); other schemes are refused. */
  const checkReference = (reference: string, pull = false): void => {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(reference)?.[1];
    if (pull && scheme === "docker") return;
    if (scheme !== undefined && scheme !== "library") {
      throw {
        code: "ref.unsupported_scheme",
        message: `${reference}: only library:// references can be pulled and pushed here`,
        hint: "Use a library:// reference (library://entity/collection/container:tag).",
      };
    }
    if (reference.replace(/^library:\/\//, "").split("/").filter(Boolean).length < 3) {
      throw { code: "ref.invalid", message: `${reference}: not a library reference`, hint: "Write library://entity/collection/container:tag." };
    }
  };
  const putJob = (made: JobView): JobView => {
    state.jobs = [made, ...state.jobs.filter((j) => j.id !== made.id)];
    return made;
  };
  const findJob = (id: unknown): JobView => {
    const found = state.jobs.find((j) => j.id === id);
    if (!found) throw { code: "job.not_found", message: `no transfer with id ${String(id)}`, hint: null };
    return found;
  };
  let jobCount = 0;
  const inKeyring = (fingerprint: string) => state.keys.some((k) => !k.global && k.fingerprint.endsWith(fingerprint));
  const calls: Call[] = [];
  const handlers: Record<string, Handler> = { ...options.handlers };
  const details = options.details ?? ((path: string) => busyboxDetails(path));
  const verify = options.verify ?? (() => verifiedView());
  let generated = 0;

  const defaults: Record<string, Handler> = {
    catalog_list: () => state.catalog,
    catalog_add_paths: (args) => {
      for (const path of args.paths as string[]) {
        if (path.endsWith("/")) {
          state.catalog.folders.push({ path, imageCount: 0, error: null });
        } else if (!state.catalog.images.some((img) => img.path === path)) {
          state.catalog.images.push(image(path));
        }
      }
      return state.catalog;
    },
    catalog_remove_image: (args) => {
      state.catalog.images = state.catalog.images.filter((img) => img.path !== args.path);
      return state.catalog;
    },
    catalog_remove_folder: (args) => {
      state.catalog.folders = state.catalog.folders.filter((f) => f.path !== args.path);
      state.catalog.images = state.catalog.images.filter(
        (img) => img.source !== "watched" || !img.path.startsWith(`${args.path as string}/`),
      );
      return state.catalog;
    },
    image_inspect: (args) => details(args.path as string),
    settings_get: () => settings(),
    settings_set_theme: (args) => {
      state.theme = args.theme as Theme;
      return settings();
    },
    settings_set_keyservers: (args) => {
      const list = args.keyservers as string[];
      list.forEach(checkKeyserverUrl);
      state.keyservers = [...list];
      return settings();
    },
    keyserver_search: (args) => {
      if (state.keyservers.length === 0) {
        throw { code: "keyserver.none_configured", message: "No keyserver is configured.", hint: null };
      }
      const hits = state.keyserverHits
        .filter((h) => matches(h, args.query as string))
        .map((h) => ({ ...h, inKeyring: h.inKeyring || inKeyring(h.fingerprint) }));
      // HKP answers 404 when nothing matches, and so does the backend.
      if (hits.length === 0) throw KEYSERVER_NOT_FOUND;
      return hits;
    },
    keyserver_pull: (args) => {
      const fingerprint = args.fingerprint as string;
      const found = state.keyserverHits.find((h) => h.fingerprint === fingerprint);
      if (!found) throw KEYSERVER_NOT_FOUND;
      const existing = state.keys.find((k) => !k.global && k.fingerprint === fingerprint);
      if (existing) return [existing];
      const pulled = key(fingerprint, {
        userIds: found.userIds,
        algorithm: found.bits ? `${found.algorithm} ${found.bits}` : found.algorithm,
        created: found.created ?? 0,
        expires: found.expires,
        revoked: found.revoked,
      });
      state.keys.push(pulled);
      return [pulled];
    },
    keyserver_push: (args) => {
      const local = state.keys.find((k) => !k.global && k.fingerprint === args.fingerprint);
      if (!local) throw { code: "key.not_found", message: "There is no such key in your keyring.", hint: null };
      return `Key block in add request contained 1 key: ${local.fingerprint}`;
    },
    "keys_location": () => "/home/ada/.apptainer/keys",
    "plugin:dialog|open": () => null,
    "plugin:dialog|save": () => null,
    keys_list: () => state.keys,
    keys_generate: (args) => {
      const request = args.request as NewKeyRequest;
      const made = key(fakeFingerprint(++generated), {
        userIds: [userId(request)],
        algorithm: ALGORITHM_NAMES[request.algorithm],
        created: 1730000000,
        hasSecret: true,
        protected: request.passphrase !== null,
        secretIndex: state.keys.filter((k) => k.hasSecret).length,
      });
      state.keys.push(made);
      return made;
    },
    keys_import: (args) => {
      const path = args.path as string;
      const name = path.slice(path.lastIndexOf("/") + 1).replace(/\.[^.]*$/, "");
      const made = key(fakeFingerprint(100 + ++generated), { userIds: [`${name} <${name}@example.org>`] });
      state.keys.push(made);
      return [made];
    },
    keys_export: () => null,
    keys_remove: (args) => {
      state.keys = state.keys.filter((k) => k.global || k.fingerprint !== args.fingerprint);
      return state.keys;
    },
    remotes_list: () => state.remotes,
    remotes_add: (args) => {
      const request = args.request as AddRemoteRequest;
      if (state.remotes.some((r) => r.name.toLowerCase() === request.name.toLowerCase())) {
        throw { code: "remote.exists", message: `A remote named ${request.name} already exists.`, hint: "Choose another name." };
      }
      const uri = request.uri.replace(/^https?:\/\//, "").replace(/\/$/, "");
      const made = remote(request.name, {
        uri,
        baseUrl: `${request.insecureHttp ? "http" : "https"}://${uri}`,
        insecureHttp: request.insecureHttp,
        caFile: request.caFile,
        proxy: request.proxy,
        isDefault: request.makeDefault || state.remotes.length === 0,
      });
      if (made.isDefault) state.remotes.forEach((r) => (r.isDefault = false));
      state.remotes.push(made);
      return made;
    },
    remotes_remove: (args) => {
      findRemote(args.name);
      state.remotes = state.remotes.filter((r) => r.name !== args.name);
      state.tokens.delete(args.name as string);
      return state.remotes;
    },
    remotes_use: (args) => {
      findRemote(args.name);
      state.remotes.forEach((r) => (r.isDefault = r.name === args.name));
      return state.remotes;
    },
    remote_status: (args) => status(findRemote(args.name)),
    remote_login: (args) => {
      const r = findRemote(args.name);
      if (args.token !== GOOD_TOKEN) {
        throw {
          code: "auth.token_invalid",
          message: "The remote refused the token.",
          hint: "Generate a new token and log in again.",
        };
      }
      state.tokens.set(r.name, args.token);
      r.loggedIn = true;
      return status(r);
    },
    remote_logout: (args) => {
      const r = findRemote(args.name);
      state.tokens.delete(r.name);
      r.loggedIn = false;
      return state.remotes;
    },
    registries_list: () => state.registryLogins,
    registry_login: (args) => {
      const host = String(args.host ?? "").trim().toLowerCase();
      const username = String(args.username ?? "").trim();
      const password = String(args.password ?? "");
      if (host === "" || username === "" || password === "") {
        throw {
          code: "registry.invalid_login",
          message: "a registry login needs a host, a username and a password",
          hint: "Fill in all three; a token goes in the password field.",
        };
      }
      if (!/^[a-z0-9.-]+(:\d+)?$/.test(host)) {
        throw {
          code: "registry.invalid_host",
          message: `${String(args.host)}: not a registry host`,
          hint: "Write the host only, like ghcr.io or 127.0.0.1:5000 — no https:// and no path.",
        };
      }
      state.registryPasswords.set(host, password);
      const others = state.registryLogins.filter((l) => l.source !== "berth" || l.host !== host);
      state.registryLogins = [...others, { host, username, source: "berth", note: null }];
      return state.registryLogins;
    },
    registry_logout: (args) => {
      if (!state.registryLogins.some((l) => l.source === "berth" && l.host === args.host)) {
        throw { code: "input.invalid", message: `Berth has no login for ${String(args.host)}.`, hint: null };
      }
      state.registryPasswords.delete(args.host as string);
      state.registryLogins = state.registryLogins.filter((l) => l.source !== "berth" || l.host !== args.host);
      return state.registryLogins;
    },
    remotes_import_preview: () => state.importCandidates,
    remotes_import: (args) => {
      const report: ImportReport = { imported: [], failed: [] };
      for (const name of args.names as string[]) {
        const c = state.importCandidates.find((x) => x.name === name);
        if (!c) continue;
        const made = remote(c.name, { uri: c.uri, insecureHttp: c.insecure, loggedIn: c.hasToken && args.moveTokens === true });
        if (made.loggedIn) state.tokens.set(made.name, GOOD_TOKEN);
        state.remotes.push(made);
        const { baseUrl: _b, loggedIn: _l, ...plain } = made;
        void _b;
        void _l;
        report.imported.push({ remote: plain, tokenStored: made.loggedIn });
      }
      return report;
    },
    library_collections: (args) => {
      containersOf(args);
      const collections = state.library[args.entity as string];
      return Object.keys(collections).map((name) => ({
        name,
        description: `${name} of ${String(args.entity)}`,
        private: false,
        reference: `cloud.sylabs.io/${String(args.entity)}/${name}`,
      }));
    },
    library_containers: (args) => containersOf(args).map((c) => c.container),
    library_container: (args) => {
      const found = containersOf(args).find((c) => c.container.name === args.container);
      if (!found) throw { code: "library.not_found", message: `No container ${String(args.container)}.`, hint: null };
      return found;
    },
    library_search: (args) => {
      findRemote(args.remote);
      const q = (args.query as string).toLowerCase();
      const view: SearchView = { entities: [], collections: [], containers: [], images: [] };
      for (const [entity, collections] of Object.entries(state.library)) {
        if (entity.includes(q)) view.entities.push(entity);
        for (const list of Object.values(collections)) {
          for (const c of list) {
            if (c.container.name.includes(q)) view.containers.push(c.container);
            for (const img of c.images) {
              if (!c.container.name.includes(q)) continue;
              if (args.arch !== null && img.arch !== args.arch) continue;
              if (args.signed === true && img.signed !== true) continue;
              view.images.push(img);
            }
          }
        }
      }
      return view;
    },
    library_delete: (args) => {
      findRemote(args.remote);
      for (const collections of Object.values(state.library)) {
        for (const list of Object.values(collections)) {
          for (const c of list) {
            const before = c.images.length;
            c.images = c.images.filter((img) => img.hashReference !== args.reference);
            if (c.images.length < before) return null;
          }
        }
      }
      throw { code: "library.not_found", message: "No such image.", hint: null };
    },
    settings_set_pull_folder: (args) => {
      state.pullFolder = args.folder as string | null;
      return settings();
    },
    transfer_push_plan: (args) => {
      const name = defaultRemoteName(args.remote);
      const reference = args.reference as string;
      checkReference(reference);
      const file = args.file as string;
      if (options.pushPlan) return options.pushPlan(name, file, reference);
      const tags = reference.includes(":", reference.lastIndexOf("/")) ? reference.slice(reference.lastIndexOf(":") + 1).split(",") : ["latest"];
      return pushPlan({ remote: name, file, reference, tags });
    },
    transfer_push: (args) => {
      const request = args.request as PushRequest;
      const name = defaultRemoteName(request.remote);
      checkReference(request.reference);
      const fileName = request.file.slice(request.file.lastIndexOf("/") + 1);
      return putJob(
        job(`push-${++jobCount}`, {
          title: `Push ${fileName} to ${request.reference}`,
          remote: name,
          source: request.file,
          destination: request.reference,
          phase: "queued",
          startedAt: NOW_MS,
        }),
      );
    },
    transfer_pull: (args) => {
      const request = args.request as PullRequest;
      checkReference(request.reference, true);
      const docker = request.reference.startsWith("docker://");
      // A docker:// job talks to the registry the reference names (Docker Hub without one).
      const [first, ...rest] = request.reference.slice("docker://".length).split("/");
      const registry = rest.length > 0 && (/[.:]/.test(first) || first === "localhost") ? first : "docker.io";
      const name = docker ? registry : defaultRemoteName(request.remote);
      const folder = request.destination ?? state.pullFolder;
      if (folder === null) {
        throw {
          code: "pull.no_destination",
          message: "no destination: choose a file or a folder to pull into",
          hint: "Choose a folder for pulled images once; Berth remembers it.",
        };
      }
      const last = request.reference.slice(request.reference.lastIndexOf("/") + 1);
      const [container, tag = "latest"] = last.split(":");
      const path = `${folder}/${container}_${tag}.sif`;
      if (state.existingFiles.has(path) && !request.force) {
        throw {
          code: "pull.destination_exists",
          message: `${path} already exists`,
          hint: "Choose another file name, or allow replacing the existing file.",
        };
      }
      return putJob(
        job(`pull-${++jobCount}`, {
          kind: "pull",
          title: `Pull ${request.reference}`,
          remote: name,
          source: request.reference,
          destination: path,
          phase: "queued",
          startedAt: NOW_MS,
        }),
      );
    },
    build_check: (args) => fakeCheck(args.text as string),
    definition_open: (args) => {
      const path = args.path as string;
      const text = state.definitionFiles.get(path);
      if (text === undefined) throw { code: "io.not_found", message: `${path}: no such file`, hint: null };
      return { path, text };
    },
    definition_save: (args) => {
      const path = args.path as string;
      state.definitionFiles.set(path, args.text as string);
      return { path, text: args.text as string };
    },
    builders_list: () =>
      state.builders ??
      state.remotes.map((r) => ({ remote: r.name, url: `${r.baseUrl}/builder`, loggedIn: r.loggedIn, isDefault: r.isDefault, error: null })),
    build_start: (args) => {
      const request = args.request as BuildRequest;
      if (request.attach === null) {
        const check = fakeCheck(request.definition);
        if (check.errors.length > 0) {
          throw { code: "build.invalid_definition", message: check.errors[0].message, hint: check.errors[0].hint };
        }
        if (request.mode === "local" && !check.localBuildable) {
          throw { code: "build.needs_remote", message: check.localReason ?? "needs a build service", hint: "Build it on a remote's build service." };
        }
      }
      const name = request.mode === "local" ? "this computer" : defaultRemoteName(request.remote);
      const stem = request.definitionPath ? request.definitionPath.slice(request.definitionPath.lastIndexOf("/") + 1).replace(/\.[^.]*$/, "") : "image";
      let path: string | null = request.destination;
      if (path === null && !request.detached) {
        if (state.pullFolder === null) {
          throw { code: "pull.no_destination", message: "no destination: choose a file or a folder to build into", hint: "Choose a folder for pulled images once; Berth remembers it." };
        }
        path = `${state.pullFolder}/${stem}.sif`;
      }
      if (path !== null && state.existingFiles.has(path) && !request.force) {
        throw { code: "pull.destination_exists", message: `${path} already exists`, hint: "Choose another file name, or allow replacing the existing file." };
      }
      const what = path === null ? "image" : path.slice(path.lastIndexOf("/") + 1);
      const title =
        request.attach !== null
          ? `Attach to build ${request.attach}`
          : request.mode === "local"
            ? `Build ${what} on this computer`
            : `Build ${what} on ${name}'s builder`;
      const id = `build-${++jobCount}`;
      state.buildLogs.set(id, []);
      return putJob(
        job(id, {
          kind: "build",
          title,
          remote: name,
          source: request.definitionPath ?? "unsaved definition",
          destination: path,
          phase: request.mode === "local" ? "preparing" : "submitting",
          startedAt: NOW_MS,
          buildId: request.attach,
        }),
      );
    },
    build_attach: (args) => {
      const found = findJob(args.jobId);
      const result = found.result;
      if (found.kind !== "build" || result?.kind !== "built" || !result.detached || result.buildId === null) {
        throw { code: "build.nothing_to_attach", message: "this job has no remote build to attach to", hint: null };
      }
      const id = `build-${++jobCount}`;
      state.buildLogs.set(id, []);
      return putJob(
        job(id, {
          kind: "build",
          title: `Attach to build ${result.buildId}`,
          remote: found.remote,
          source: found.source,
          destination: found.destination,
          phase: "building",
          startedAt: NOW_MS,
          buildId: result.buildId,
        }),
      );
    },
    build_log: (args) => {
      findJob(args.jobId);
      return { jobId: args.jobId as string, lines: state.buildLogs.get(args.jobId as string) ?? [], truncated: false };
    },
    jobs_list: () => state.jobs,
    job_cancel: (args) => {
      const found = findJob(args.id);
      return putJob({ ...found, state: "cancelled", finishedAt: NOW_MS, rate: null, etaSeconds: null });
    },
    job_retry: (args) => {
      const found = findJob(args.id);
      if (found.state === "running") throw { code: "job.running", message: "the transfer is still running", hint: null };
      return putJob({
        ...found,
        // As the backend: a retry is a new start.
        startedAt: Math.max(Date.now(), found.startedAt + 1),
        state: "running",
        phase: "queued",
        bytesDone: found.resumable ? (found.resumeFrom ?? 0) : 0,
        error: null,
        finishedAt: null,
        result: null,
      });
    },
    open_web_page: () => null,
    jobs_clear: () => {
      state.jobs = state.jobs.filter((j) => j.state === "running");
      return state.jobs;
    },
    cache_list: () => state.cache,
    cache_clean: (args) => {
      const days = args.olderThanDays as number | null;
      const removed = state.cache.entries.filter((e) => days === null || e.lastUsed < NOW_MS - days * 86_400_000);
      const freedBytes = removed.reduce((n, e) => n + e.size, 0);
      if (args.dryRun !== true) {
        state.cache.entries = state.cache.entries.filter((e) => !removed.includes(e));
        state.cache.totalBytes -= freedBytes;
      }
      return { removed, freedBytes, dryRun: args.dryRun === true };
    },
    image_verify: (args) => verify(args.path as string, args.fetchMissing === true),
    image_sign: (args) => {
      const signer = state.keys.find((k) => k.fingerprint === args.fingerprint);
      if (!signer) throw { code: "key.not_found", message: "There is no such key in your keyring.", hint: null };
      const listed = state.catalog.images.find((img) => img.path === args.path);
      if (listed) listed.signed = true;
      return {
        verified: true,
        summary: `Signed by ${signer.userIds[0]}; every signed object is intact.`,
        error: null,
        signatures: [validSignature({ fingerprint: signer.fingerprint, signer: signer.userIds[0] })],
      } satisfies VerifyView;
    },
  };

  mockWindows("main");
  mockIPC(
    (cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      const handler = handlers[cmd] ?? defaults[cmd];
      if (!handler) throw { code: "test.unknown_command", message: `no fake for ${cmd}`, hint: null };
      // Hand out copies, as the real IPC does, so the UI never shares our state.
      return Promise.resolve(handler(args)).then((value) =>
        value === undefined ? value : structuredClone(value),
      );
    },
    { shouldMockEvents: true },
  );

  return {
    state,
    calls,
    handlers,
    /** The fake's own answers, for a replacement that only adds a delay or a failure. */
    defaults,
    /** Arguments of every call of `cmd`, oldest first. */
    callsOf(cmd: string): Record<string, unknown>[] {
      return calls.filter((c) => c.cmd === cmd).map((c) => c.args);
    },
    /** Send a job as the backend's `job-updated` event does, after taking it into the job list. */
    async emitJob(updated: JobView): Promise<void> {
      const index = state.jobs.findIndex((j) => j.id === updated.id);
      if (index < 0) state.jobs.unshift(structuredClone(updated));
      else state.jobs[index] = structuredClone(updated);
      await emit("job-updated", updated);
    },
    /** Send build log lines as the backend's `build-log` event does, after adding them to the job's log. */
    async emitBuildLog(jobId: string, lines: string[], index?: number): Promise<void> {
      const log = state.buildLogs.get(jobId) ?? [];
      const at = index ?? log.length;
      lines.forEach((line, i) => (log[at + i] = line));
      state.buildLogs.set(jobId, log);
      await emit("build-log", { jobId, index: at, lines });
    },
    /** Fire a webview drag-and-drop event the way Tauri does. */
    async drag(kind: "enter" | "over" | "drop" | "leave", paths: string[] = []): Promise<void> {
      const position = { x: 10, y: 10 };
      const payload = kind === "leave" ? null : kind === "over" ? { position } : { paths, position };
      await emit(`tauri://drag-${kind}`, payload);
    },
  };
}
