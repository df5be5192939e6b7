/**
 * Development harness: the real UI over a fake backend, for looking at it in a browser.
 * `npm run dev`, then open http://localhost:5173/harness/?scenario=data&theme=dark
 * (scenario: data | empty | slow; theme: system | light | dark; keys=error makes keys_list fail).
 * Keyserver: searching "offline" fails as an unreachable server would; "nobody" finds nothing.
 * To look at a state without clicking (e.g. in a headless screenshot): page=keys opens the
 * Keys page, ksearch=<query> searches the keyserver, kedit=1 opens the keyserver list
 * editor (kedit=<text> also saves that text), kpublish=1 asks to publish the first key,
 * image=<name> opens that image's Signatures tab and verifies it, fetch=1 then fetches the
 * unknown signer's key. Build: page=build opens it, template=docker|library|scratch fills the
 * editor. Transfers: page=transfers|pull opens those pages (the data scenario
 * has jobs in every state and a cache); push=<name> opens the push dialog for that image
 * (unsigned images need "Push anyway"; a destination containing "full" is over quota);
 * drop=<path> drops that file on the window.
 *
 * Only index.html is built into dist/, so none of this ships.
 */
import type { Theme } from "../src/lib/bindings/Theme";
import { fakeBackend } from "../src/test/backend";
import {
  sampleCandidates,
  sampleLibrary,
  sampleRemotes,
  BROKEN,
  busyboxDetails,
  CORRUPT,
  emptyCatalog,
  ERIN_FP,
  fetchedView,
  image,
  importedView,
  LOLCOW,
  mixedView,
  sampleCatalog,
  sampleKeys,
  verifiedView,
  failedPull,
  job,
  pullJob,
  pushPlan,
  PULL_FOLDER,
  runningPush,
  sampleCache,
  succeededPull,
  succeededPush,
} from "../src/test/fixtures";

const params = new URLSearchParams(location.search);
const scenario = params.get("scenario") ?? "data";
const theme = (params.get("theme") ?? "system") as Theme;
const keysBroken = params.get("keys") === "error";

function richCatalog() {
  const catalog = sampleCatalog();
  const day = 86400;
  catalog.images.push(
    image("/home/ana/images/pytorch-2.3-cuda12.sif", { size: 6_012_342_272, modified: 1717000000 + 3 * day, signed: true }),
    image("/home/ana/images/r-base_4.4.1.sif", { size: 412_090_368, modified: 1721000000 }),
    image("/home/ana/images/ubuntu_22.04.sif", { size: 29_884_416, arch: "amd64", modified: 1690000000, signed: true }),
    image("/home/ana/images/rocky9-minimal.sif", { size: 61_505_536, arch: "arm64", modified: 1712000000 }),
    image("/data/containers/samtools-1.20.sif", { size: 18_247_680, source: "watched", modified: 1715000000 }),
    image("/home/ana/Downloads/truncated-download.sif", { size: 512_000, modified: 1723000000 }),
    image("/data/containers/half-copied.sif", {
      size: 40_960,
      arch: null,
      modified: 1722000000,
      source: "watched",
      error: {
        code: "sif.corrupt",
        message: "The image is cut short: object 4 ends past the end of the file.",
        hint: "The file may still be copying, or the download was interrupted. Copy or pull it again.",
      },
    }),
  );
  catalog.folders[0].imageCount = 3;
  catalog.folders.push({
    path: "/mnt/cluster/shared/sif",
    imageCount: 0,
    error: {
      code: "io.permission_denied",
      message: "Berth may not read this folder.",
      hint: "Ask for read access, or stop watching it.",
    },
  });
  return catalog;
}

const delay = scenario === "slow" ? 1500 : 0;
const later = <T>(value: () => T) =>
  new Promise<T>((resolve, reject) =>
    setTimeout(() => {
      try {
        resolve(value());
      } catch (e) {
        reject(e);
      }
    }, delay),
  );

/** Slow enough to see the progress notes even in the quick scenarios. */
const work = <T>(ms: number, value: () => T) =>
  new Promise<T>((resolve, reject) =>
    setTimeout(() => {
      try {
        resolve(value());
      } catch (e) {
        reject(e);
      }
    }, scenario === "slow" ? ms * 3 : ms),
  );

const backend = fakeBackend({
  catalog: scenario === "empty" ? emptyCatalog() : richCatalog(),
  theme,
  keys: scenario === "empty" ? [] : sampleKeys(),
  remotes: scenario === "empty" ? [] : sampleRemotes(),
  importCandidates: sampleCandidates(),
  library: sampleLibrary(),
  jobs:
    scenario === "empty"
      ? []
      : [
          runningPush(),
          pullJob("resolving", { phase: "resolving", title: "Pull library://ana/tools/lolcow:latest" }),
          failedPull(),
          succeededPush(),
          succeededPull(),
          job("quit", { state: "interrupted", title: "Push r-base_4.4.1.sif to library://ana/stats/r-base:4.4.1" }),
        ],
  cache: scenario === "empty" ? undefined : sampleCache(),
  pullFolder: scenario === "empty" ? null : PULL_FOLDER,
  pushPlan: (remote, file, reference) => {
    const listed = backend.state.catalog.images.find((img) => img.path === file);
    const full = reference.includes("full");
    return pushPlan({
      remote,
      file,
      reference,
      size: listed?.size ?? 0,
      arch: listed?.arch ?? null,
      tags: reference.slice(reference.lastIndexOf(":") + 1).split(","),
      signature: listed?.signed ? "verified" : "unsigned",
      signatureSummary: listed?.signed
        ? "Signed by Ana Example <ana@example.org>; every signed object is intact."
        : "The image has no signatures.",
      creates: reference.includes("/new") ? [reference.replace(/^library:\/\//, "").split("/").slice(0, 2).join("/")] : [],
      overQuota: full,
      quotaLeftAfter: full ? -(512 * 1024 ** 2) : 8 * 1024 ** 3,
      warnings: full ? ["The image is larger than what is left of your quota."] : [],
    });
  },
  handlers: {
    keys_list: () =>
      later(() => {
        if (keysBroken) {
          throw {
            code: "key.keyring_corrupt",
            message: "Your public keyring (~/.apptainer/keys/pgp-public) cannot be read: it is not an OpenPGP keyring.",
            hint: "Move the file aside and import your keys again.",
          };
        }
        return backend.state.keys;
      }),
    keys_generate: (args) => work(2500, () => backend.defaults.keys_generate(args)),
    image_verify: (args) =>
      work(700, () => {
        const path = args.path as string;
        const listed = backend.state.catalog.images.find((img) => img.path === path);
        if (!listed?.signed) {
          throw { code: "integrity.no_signatures", message: "The image has no signatures.", hint: null };
        }
        if (!path.includes("ubuntu")) return verifiedView();
        // Erin's key (the unknown signer) is on the sample keyserver.
        if (backend.state.keys.some((k) => k.fingerprint === ERIN_FP)) return importedView();
        return args.fetchMissing ? fetchedView() : mixedView();
      }),
    keyserver_search: (args) =>
      work(900, () => {
        if (String(args.query).includes("offline")) {
          throw {
            code: "keyserver.unreachable",
            message: `cannot reach keyserver ${backend.state.keyservers[0] ?? ""}: connection timed out`,
            hint: "Check the keyserver address and your network, then try again.",
          };
        }
        return backend.defaults.keyserver_search(args);
      }),
    keyserver_pull: (args) => work(900, () => backend.defaults.keyserver_pull(args)),
    keyserver_push: (args) => work(900, () => backend.defaults.keyserver_push(args)),
    settings_set_keyservers: (args) => later(() => backend.defaults.settings_set_keyservers(args)),
    image_sign: (args) =>
      work(1500, () => {
        if (args.passphrase === "wrong") {
          throw { code: "key.bad_passphrase", message: "The passphrase is wrong.", hint: null };
        }
        return backend.defaults.image_sign(args);
      }),
    image_inspect: (args) =>
      later(() => {
        const path = args.path as string;
        if (path === BROKEN || path.includes("half-copied")) throw CORRUPT;
        // Make the busybox sample agree with what the list says about this file.
        const listed = backend.state.catalog.images.find((img) => img.path === path);
        const details = busyboxDetails(path);
        if (listed) {
          details.size = listed.size;
          details.header.arch = listed.arch;
          details.signatureCount = listed.signed ? 1 : 0;
          if (!listed.signed) details.objects = details.objects.filter((o) => o.dataType !== "Signature");
        }
        if (path.includes("truncated-download")) {
          details.damage = {
            code: "sif.damaged",
            message: "Object 4 ends 12 KiB past the end of the file.",
            hint: "The download was cut short. Download the image again.",
          };
        }
        if (path === LOLCOW) {
          details.container = null;
          details.containerError = {
            code: "squashfs.corrupt",
            message: "The primary partition is not a readable SquashFS file system.",
            hint: "The image may be damaged; download or build it again.",
          };
        }
        return details;
      }),
  },
});

// For poking at it from the devtools console or a screenshot script: `harness.drag("enter")`.
(window as unknown as { harness: typeof backend }).harness = backend;

void import("../src/main").then(() => void drive());

// ---- scripted states -------------------------------------------------------------------

function waitFor<T>(find: () => T | null | undefined, timeoutMs = 10000): Promise<T> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const found = find();
      if (found) resolve(found);
      else if (Date.now() - start > timeoutMs) reject(new Error("harness: timed out"));
      else setTimeout(tick, 50);
    };
    tick();
  });
}

const byTestId = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);

function typeInto(el: HTMLInputElement | HTMLTextAreaElement, text: string) {
  el.value = text;
  el.dispatchEvent(new Event("input", { bubbles: true }));
}

async function drive() {
  const page = params.get("page");
  if (page === "transfers" || page === "pull" || page === "build") {
    await waitFor(() => byTestId("app-ready"));
    byTestId(`nav-${page}`)?.click();
    const template = params.get("template");
    if (page === "build" && template !== null) (await waitFor(() => byTestId(`build-template-${template}`))).click();
    return;
  }
  const pushName = params.get("push");
  if (pushName !== null) {
    await waitFor(() => byTestId("app-ready"));
    const row = await waitFor(() =>
      Array.from(document.querySelectorAll<HTMLElement>('[data-testid="image-row"]')).find((r) =>
        (r.getAttribute("data-path") ?? "").includes(pushName),
      ),
    );
    row.click();
    (await waitFor(() => byTestId("push-button"))).click();
    typeInto(await waitFor(() => byTestId("push-destination") as HTMLInputElement | null), params.get("to") ?? "library://ana/tools/busybox");
    return;
  }
  const drop = params.get("drop");
  if (drop !== null) {
    await waitFor(() => byTestId("app-ready"));
    await backend.drag("drop", [drop]);
    return;
  }
  const imageName = params.get("image");
  const ksearch = params.get("ksearch");
  const kedit = params.get("kedit");
  const keysPage = params.get("page") === "keys" || ksearch !== null || kedit !== null || params.has("kpublish");
  if (!keysPage && imageName === null) return;
  await waitFor(() => byTestId("app-ready"));
  if (imageName !== null) {
    const row = await waitFor(() =>
      Array.from(document.querySelectorAll<HTMLElement>('[data-testid="image-row"]')).find((r) =>
        (r.getAttribute("data-path") ?? "").includes(imageName),
      ),
    );
    row.click();
    (await waitFor(() => byTestId("tab-signatures"))).click();
    (await waitFor(() => byTestId("verify-button") as HTMLButtonElement | null)).click();
    if (params.get("fetch") === "1") {
      (await waitFor(() => byTestId("fetch-key-button"))).click();
    }
    return;
  }
  (await waitFor(() => byTestId("nav-keys"))).click();
  await waitFor(() => byTestId("keys-table") ?? byTestId("keys-empty"));
  if (kedit !== null) {
    (await waitFor(() => byTestId("keyservers-edit-button") as HTMLButtonElement | null)).click();
    if (kedit !== "1") {
      typeInto(await waitFor(() => byTestId("keyservers-input") as HTMLTextAreaElement | null), kedit);
      byTestId("keyservers-save")?.click();
    }
  }
  if (ksearch !== null) {
    typeInto(await waitFor(() => byTestId("keyserver-search-input") as HTMLInputElement | null), ksearch);
    byTestId("keyserver-search-button")?.click();
  }
  if (params.has("kpublish")) byTestId("push-key-button")?.click();
  else byTestId("keyserver-section")?.scrollIntoView({ block: "start" });
}
