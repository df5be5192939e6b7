/**
 * Sample backend data for component tests and the browser harness. Numbers follow the
 * busybox SIF in shared/testdata (792293 bytes, five objects, one group signature).
 */
import type { ApiError } from "../lib/bindings/ApiError";
import type { BuilderView } from "../lib/bindings/BuilderView";
import type { BuildResultView } from "../lib/bindings/BuildResultView";
import type { CacheEntryView } from "../lib/bindings/CacheEntryView";
import type { CacheView } from "../lib/bindings/CacheView";
import type { Catalog } from "../lib/bindings/Catalog";
import type { ContainerDetailView } from "../lib/bindings/ContainerDetailView";
import type { ImportCandidate } from "../lib/bindings/ImportCandidate";
import type { JobView } from "../lib/bindings/JobView";
import type { LibraryImageView } from "../lib/bindings/LibraryImageView";
import type { RegistryLoginView } from "../lib/bindings/RegistryLoginView";
import type { RemoteView } from "../lib/bindings/RemoteView";
import type { ImageDetails } from "../lib/bindings/ImageDetails";
import type { KeyHitView } from "../lib/bindings/KeyHitView";
import type { KeyView } from "../lib/bindings/KeyView";
import type { LocalImage } from "../lib/bindings/LocalImage";
import type { PullResultView } from "../lib/bindings/PullResultView";
import type { PushPlanView } from "../lib/bindings/PushPlanView";
import type { PushResultView } from "../lib/bindings/PushResultView";
import type { SignatureView } from "../lib/bindings/SignatureView";
import type { VerifyView } from "../lib/bindings/VerifyView";

export const BUSYBOX = "/home/ana/images/busybox_amd64.sif";
export const ALPINE = "/home/ana/images/alpine-3.20.sif";
export const BROKEN = "/home/ana/Downloads/notes.txt";
export const WATCHED_DIR = "/data/containers";
export const LOLCOW = "/data/containers/lolcow.sif";

export const CORRUPT: ApiError = {
  code: "sif.bad_magic",
  message: "This is not a SIF image: the file does not start with the SIF signature.",
  hint: "Check that you picked the right file; SIF images usually end in .sif.",
};

export function image(path: string, overrides: Partial<LocalImage> = {}): LocalImage {
  return {
    path,
    name: path.slice(path.lastIndexOf("/") + 1),
    size: 792293,
    arch: "amd64",
    signed: false,
    modified: 1627931376,
    source: "added",
    error: null,
    ...overrides,
  };
}

export function sampleCatalog(): Catalog {
  return {
    images: [
      image(BUSYBOX, { signed: true }),
      image(ALPINE, { size: 3_407_872, arch: "arm64", modified: 1718000000 }),
      image(BROKEN, { size: 1204, arch: null, modified: 1700000000, error: CORRUPT }),
      image(LOLCOW, { size: 91_238_400, source: "watched", modified: 1650000000 }),
    ],
    folders: [{ path: WATCHED_DIR, imageCount: 1, error: null }],
  };
}

export function emptyCatalog(): Catalog {
  return { images: [], folders: [] };
}

export function busyboxDetails(path = BUSYBOX): ImageDetails {
  return {
    path,
    size: 792293,
    header: {
      launchScript: "#!/usr/bin/env run-singularity",
      version: "01",
      arch: "amd64",
      id: "4f307b4c-58a8-4753-9c0f-21dceefed4a6",
      createdAt: 1627931376,
      modifiedAt: 1627931376,
      descriptorsFree: 43,
      descriptorsTotal: 48,
      descriptorsOffset: 4096,
      descriptorsSize: 28080,
      dataOffset: 32768,
      dataSize: 759525,
    },
    objects: [
      { id: 1, dataType: "Def.FILE", group: 1, link: null, offset: 32768, size: 39, name: "", primary: false, extras: [] },
      {
        id: 2,
        dataType: "JSON.Generic",
        group: 1,
        link: null,
        offset: 36864,
        size: 1896,
        name: "inspect-metadata.json",
        primary: false,
        extras: [],
      },
      {
        id: 3,
        dataType: "JSON.Generic",
        group: 1,
        link: null,
        offset: 40960,
        size: 90,
        name: "oci-config.json",
        primary: false,
        extras: [],
      },
      {
        id: 4,
        dataType: "FS",
        group: 1,
        link: null,
        offset: 45056,
        size: 745472,
        name: "",
        primary: true,
        extras: [
          { label: "Filesystem", value: "Squashfs" },
          { label: "Partition", value: "System" },
          { label: "Arch", value: "amd64" },
        ],
      },
      {
        id: 5,
        dataType: "Signature",
        group: null,
        link: { id: 1, group: true },
        offset: 790528,
        size: 1765,
        name: "",
        primary: false,
        extras: [
          { label: "Hash", value: "SHA-256" },
          { label: "Entity", value: "1137E72E6816BFC06D9CAA0D15F3F4F4F14B03B2" },
        ],
      },
    ],
    signatureCount: 1,
    damage: null,
    container: {
      labels: [
        { key: "org.label-schema.build-arch", value: "amd64" },
        { key: "org.label-schema.build-date", value: "Monday_2_August_2021_19:9:36_UTC" },
        { key: "org.label-schema.schema-version", value: "1.0" },
        { key: "org.label-schema.usage.singularity.version", value: "3.8.1" },
      ],
      deffile: "bootstrap: docker\nfrom: busybox:1.33.1\n",
      runscript:
        '#!/bin/sh\nOCI_ENTRYPOINT=\'\'\nOCI_CMD=\'"sh"\'\n# ENTRYPOINT only - run entrypoint plus args\nexec "$@"\n',
      startscript: null,
      test: null,
      helpfile: null,
      environment: [
        {
          path: "/.singularity.d/env/10-docker2singularity.sh",
          content: "#!/bin/sh\nexport PATH=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\n",
        },
        {
          path: "/.singularity.d/env/90-environment.sh",
          content: "#!/bin/sh\n# Custom environment shell code should follow\n",
        },
      ],
      problems: [],
    },
    containerError: null,
  };
}

// ---- keys and signatures ----------------------------------------------------------------

/** Ana's key signed the busybox sample (the Entity of its signature object). */
export const ANA_FP = "1137E72E6816BFC06D9CAA0D15F3F4F4F14B03B2";
export const BOB_FP = "8C2F1A6B0D3E4F5A69788B9CAD0E1F2A3B4C5D6E";
export const CI_FP = "5E6F7A8B9C0D1E2F3A4B5C6D7E8F9A0B1C2D3E4F";
export const SITE_FP = "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678";
export const OLD_FP = "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C";

export function key(fingerprint: string, overrides: Partial<KeyView> = {}): KeyView {
  return {
    fingerprint,
    keyId: fingerprint.slice(-16),
    userIds: ["Someone <someone@example.org>"],
    algorithm: "RSA 4096",
    created: 1700000000,
    expires: null,
    revoked: false,
    canSign: true,
    hasSecret: false,
    protected: false,
    global: false,
    secretIndex: null,
    ...overrides,
  };
}

export function sampleKeys(): KeyView[] {
  return [
    key(ANA_FP, {
      userIds: ["Ana Example <ana@example.org>", "Ana Example (work) <ana@lab.example.edu>"],
      created: 1627900000,
      hasSecret: true,
      protected: true,
      secretIndex: 0,
    }),
    key(BOB_FP, { userIds: ["Bob Builder <bob@example.org>"], algorithm: "EdDSA Ed25519", created: 1710000000 }),
    key(CI_FP, {
      userIds: ["CI Robot (nightly builds) <ci@example.org>"],
      algorithm: "RSA 3072",
      created: 1715000000,
      hasSecret: true,
      secretIndex: 1,
    }),
    key(OLD_FP, {
      userIds: ["Ana Example (old laptop) <ana@old.example>"],
      created: 1500000000,
      expires: 1600000000,
      canSign: false,
    }),
    key(SITE_FP, { userIds: ["HPC Center <containers@hpc.example.edu>"], created: 1680000000, global: true }),
  ];
}

/** Every signature checked out: one PGP signature by Ana over group 1. */
export function verifiedView(): VerifyView {
  return {
    verified: true,
    summary: "Signed by Ana Example <ana@example.org>; every signed object is intact.",
    error: null,
    signatures: [validSignature()],
  };
}

export function validSignature(overrides: Partial<SignatureView> = {}): SignatureView {
  return {
    signatureId: 5,
    scheme: "pgp",
    group: 1,
    fingerprint: ANA_FP,
    signer: "Ana Example <ana@example.org>",
    keySource: "local",
    objects: [1, 2, 3, 4],
    state: "valid",
    explanation: "The signature is good and the key is in your local keyring.",
    detail: null,
    ...overrides,
  };
}

/** Three signatures: a good one, one by a key nobody here has, one over changed data. */
export function mixedView(): VerifyView {
  return {
    verified: false,
    summary: "1 of 3 signatures verified; the image was changed after it was signed.",
    error: "integrity: object 4: hash mismatch",
    signatures: [
      validSignature(),
      validSignature({
        signatureId: 6,
        scheme: "dsse",
        fingerprint: "FFFF0000EEEE1111DDDD2222CCCC3333BBBB4444",
        signer: null,
        keySource: null,
        state: "unknownSigner",
        explanation: "The key that made this signature is not in your keyrings. Import the signer's public key to check it.",
        detail: "openpgp: signature made by unknown entity",
      }),
      validSignature({
        signatureId: 7,
        scheme: "legacy",
        group: null,
        objects: [4],
        signer: "Bob Builder <bob@example.org>",
        fingerprint: BOB_FP,
        state: "tampered",
        explanation: "Object 4 changed after it was signed. Do not run this image; get it again from its source.",
        detail: "integrity: object 4: hash mismatch",
      }),
    ],
  };
}

// ---- keyservers ---------------------------------------------------------------------------

export const KEYSERVER = "https://keys.openpgp.org";
/** The signer of the unknown-signer signature in {@link mixedView}: on the keyserver only. */
export const ERIN_FP = "FFFF0000EEEE1111DDDD2222CCCC3333BBBB4444";
export const CAROL_FP = "C4A2011E5B6D7E8F90A1B2C3D4E5F60718293A4B";
export const CAROL_OLD_FP = "C4A2011E00000000000000000000000000001999";
export const DEV_FP = "DE7DE7DE7DE7DE7DE7DE7DE7DE7DE7DE7DE7DE70";

export function hit(fingerprint: string, overrides: Partial<KeyHitView> = {}): KeyHitView {
  return {
    fingerprint,
    algorithm: "RSA",
    bits: 4096,
    created: 1700000000,
    expires: null,
    revoked: false,
    userIds: ["Someone <someone@example.org>"],
    inKeyring: false,
    ...overrides,
  };
}

/** What the sample keyserver holds. Ana's key is also in the sample keyring. */
export function sampleHits(): KeyHitView[] {
  return [
    hit(ANA_FP, {
      userIds: ["Ana Example <ana@example.org>", "Ana Example (work) <ana@lab.example.edu>"],
      created: 1627900000,
      inKeyring: true,
    }),
    hit(CAROL_FP, {
      userIds: ["Carol Researcher <carol@uni.example.edu>", "Carol R. (containers) <carol@hpc.example.edu>"],
      created: 1712345678,
    }),
    hit(CAROL_OLD_FP, {
      userIds: ["Carol Researcher (2019) <carol@old.example>"],
      algorithm: "RSA",
      bits: 2048,
      created: 1550000000,
      revoked: true,
    }),
    hit(DEV_FP, {
      userIds: ["Lab Dev Team <dev@lab.example.edu>"],
      algorithm: "EdDSA",
      bits: 256,
      created: 1600000000,
      expires: 1650000000,
      revoked: true,
    }),
    hit(ERIN_FP, {
      userIds: ["Erin Packager <erin@example.net>"],
      algorithm: "ECDSA",
      bits: 256,
      created: 1690000000,
    }),
  ];
}

/** {@link mixedView} after fetching the unknown signer's key from the keyserver. */
export function fetchedView(): VerifyView {
  const view = mixedView();
  view.summary = "2 of 3 signatures verified; the image was changed after it was signed.";
  view.signatures[1] = {
    ...view.signatures[1],
    signer: "Erin Packager <erin@example.net>",
    keySource: "keyserver",
    state: "valid",
    objects: [1, 2, 3, 4],
    explanation:
      "The signature is good; the key came from the keyserver for this check and is not in your keyrings. Import it to trust it from now on.",
    detail: null,
  };
  return view;
}

/** {@link fetchedView} once Erin's key is in the local keyring. */
export function importedView(): VerifyView {
  const view = fetchedView();
  view.signatures[1] = {
    ...view.signatures[1],
    keySource: "local",
    explanation: "The signature is good and the key is in your local keyring.",
  };
  return view;
}

// ---- remotes and the library ---------------------------------------------------------

export const GOOD_TOKEN = "eyJ-good-token-0123456789";
export const HASH_A = "sha256.aa11bb22cc33dd44ee55ff66778899aabbccddeeff00112233445566778899aa";
export const HASH_B = "sha256.bb22cc33dd44ee55ff66778899aabbccddeeff00112233445566778899aabb";

export function remote(name: string, overrides: Partial<RemoteView> = {}): RemoteView {
  const uri = overrides.uri ?? `${name.toLowerCase()}.example.org`;
  return {
    name,
    uri,
    baseUrl: `${overrides.insecureHttp ? "http" : "https"}://${uri}`,
    insecureHttp: false,
    caFile: null,
    proxy: null,
    isDefault: false,
    loggedIn: false,
    ...overrides,
  };
}

export function sampleRemotes(): RemoteView[] {
  return [
    remote("SylabsCloud", { uri: "cloud.sylabs.io", baseUrl: "https://cloud.sylabs.io", isDefault: true, loggedIn: true }),
    remote("site", { uri: "library.site.example", baseUrl: "http://library.site.example", insecureHttp: true }),
  ];
}

export function sampleCandidates(): ImportCandidate[] {
  const base = {
    insecure: false,
    hasToken: false,
    sourceFile: "/home/ana/.apptainer/remote.yaml",
    conflictsWithExisting: false,
    system: false,
    active: false,
    problem: null,
  };
  return [
    { ...base, name: "hpc", uri: "library.hpc.example", hasToken: true, active: true },
    { ...base, name: "lab", uri: "lab.example.org" },
    { ...base, name: "SylabsCloud", uri: "cloud.sylabs.io", conflictsWithExisting: true, system: true, sourceFile: "/etc/apptainer/remote.yaml" },
    {
      ...base,
      name: "bad name",
      uri: "::",
      problem: { code: "remote.invalid_name", message: "“bad name” is not a valid remote name.", hint: null },
    },
  ];
}

export function libraryImage(hash: string, overrides: Partial<LibraryImageView> = {}): LibraryImageView {
  const base = "library://cloud.sylabs.io/ana/tools/busybox";
  const tags = overrides.tags ?? ["latest"];
  return {
    hash,
    size: 792293,
    arch: "amd64",
    signed: true,
    fingerprints: [ANA_FP],
    tags,
    description: "",
    uploaded: true,
    reference: tags.length > 0 ? `${base}:${tags[0]}` : `${base}:${hash}`,
    hashReference: `${base}:${hash}`,
    ...overrides,
  };
}

export function sampleLibrary(): Record<string, Record<string, ContainerDetailView[]>> {
  const container = (name: string, description: string, images: LibraryImageView[]): ContainerDetailView => ({
    container: {
      name,
      entity: "ana",
      collection: "tools",
      description,
      private: false,
      downloads: 42,
      reference: `library://cloud.sylabs.io/ana/tools/${name}`,
    },
    fullDescription: `${description}\n\nBuilt from busybox:1.36.`,
    images,
  });
  return {
    ana: {
      tools: [
        container("busybox", "A tiny shell", [
          libraryImage(HASH_A),
          libraryImage(HASH_B, { tags: ["1.36"], arch: "arm64", signed: false, fingerprints: [] }),
        ]),
        container("lolcow", "Cows", []),
      ],
      empty: [],
    },
  };
}

// ---- registry logins -------------------------------------------------------------------

/** A registry password typed in a test: it must never be found in the page afterwards. */
export const REGISTRY_PASSWORD = "ghp_registry-secret-0123456789";

export function registryLogin(host: string, overrides: Partial<RegistryLoginView> = {}): RegistryLoginView {
  return { host, username: "ana", source: "berth", note: null, ...overrides };
}

/** One login of Berth's, two found in Docker's config.json (one held by a credential helper). */
export function sampleRegistryLogins(): RegistryLoginView[] {
  return [
    registryLogin("ghcr.io"),
    registryLogin("docker.io", { username: "ana-docker", source: "docker-config" }),
    registryLogin("registry.example.com", {
      username: "",
      source: "docker-config",
      note: "managed by docker-credential-desktop, not read",
    }),
  ];
}

// ---- transfers --------------------------------------------------------------------------

/** "Now" for jobs and the cache: 2025-11-24, in Unix milliseconds. */
export const NOW_MS = 1_764_000_000_000;
const DAY_MS = 86_400_000;
export const PULL_FOLDER = "/home/ana/pulled";
export const BWA = "/home/ana/images/bwa.sif";

export function job(id: string, overrides: Partial<JobView> = {}): JobView {
  return {
    id,
    kind: "push",
    title: "Push bwa.sif to library://lab/tools/bwa:1.0",
    remote: "SylabsCloud",
    source: BWA,
    destination: "library://lab/tools/bwa:1.0",
    state: "running",
    phase: "uploading",
    bytesDone: 0,
    bytesTotal: null,
    rate: null,
    etaSeconds: null,
    startedAt: NOW_MS - 60_000,
    finishedAt: null,
    result: null,
    error: null,
    resumable: false,
    resumeFrom: null,
    buildId: null,
    parts: [],
    ...overrides,
  };
}

/** A push halfway through its upload: 400 MiB of 1000 MiB at 40 MiB/s. */
export function runningPush(id = "job-push"): JobView {
  return job(id, { bytesDone: 400 * 1024 * 1024, bytesTotal: 1000 * 1024 * 1024, rate: 40 * 1024 * 1024, etaSeconds: 15 });
}

export function succeededPush(id = "job-pushed", overrides: Partial<PushResultView> = {}): JobView {
  return job(id, {
    state: "succeeded",
    phase: "done",
    finishedAt: NOW_MS - 30_000,
    result: {
      kind: "pushed",
      reference: "library://lab/tools/bwa:1.0",
      hash: HASH_A,
      size: 1000 * 1024 * 1024,
      arch: "amd64",
      tags: ["1.0"],
      uploaded: true,
      created: ["lab/tools/bwa"],
      quotaUsed: 13_883_146,
      quotaTotal: 11_811_160_064,
      quotaLine: "Library storage: using 13.24 MiB out of 11.00 GiB quota (0.1% used)",
      containerUrl: "https://cloud.sylabs.io/library/lab/tools/bwa",
      ...overrides,
    },
  });
}

export function pullJob(id: string, overrides: Partial<JobView> = {}): JobView {
  return job(id, {
    kind: "pull",
    title: "Pull library://ana/tools/busybox:latest",
    source: "library://ana/tools/busybox:latest",
    destination: `${PULL_FOLDER}/busybox_latest.sif`,
    phase: "downloading",
    ...overrides,
  });
}

/** A pull that lost its connection after 41 % of the download; a retry resumes. */
export function failedPull(id = "job-pull-failed"): JobView {
  return pullJob(id, {
    state: "failed",
    bytesDone: 420 * 1024 * 1024,
    bytesTotal: 1024 * 1024 * 1024,
    finishedAt: NOW_MS - 10_000,
    error: {
      code: "net.unreachable",
      message: "The connection to cloud.sylabs.io was lost.",
      hint: "Check your network, then resume the pull.",
    },
    resumable: true,
    resumeFrom: 420 * 1024 * 1024,
  });
}

export function succeededPull(id = "job-pulled", overrides: Partial<PullResultView> = {}): JobView {
  return pullJob(id, {
    state: "succeeded",
    phase: "done",
    finishedAt: NOW_MS - 5_000,
    result: {
      kind: "pulled",
      path: `${PULL_FOLDER}/busybox_latest.sif`,
      reference: "library://ana/tools/busybox:latest",
      hash: HASH_A,
      size: 792293,
      fromCache: false,
      resumedFrom: 0,
      verify: verifiedView(),
      verifyError: null,
      ...overrides,
    },
  });
}

/** A docker:// pull in its unpacking phase: 12 of 30 MiB of layers, at 3 MiB/s. */
export function dockerPull(id = "job-docker", overrides: Partial<JobView> = {}): JobView {
  return pullJob(id, {
    title: "Pull docker://alpine:3.19",
    remote: "docker.io",
    source: "docker://alpine:3.19",
    destination: `${PULL_FOLDER}/alpine_3.19.sif`,
    phase: "unpacking",
    bytesDone: 12 * 1024 * 1024,
    bytesTotal: 30 * 1024 * 1024,
    rate: 3 * 1024 * 1024,
    etaSeconds: 6,
    ...overrides,
  });
}

export function pushPlan(overrides: Partial<PushPlanView> = {}): PushPlanView {
  return {
    remote: "SylabsCloud",
    file: BWA,
    size: 1000 * 1024 * 1024,
    arch: "amd64",
    reference: "library://lab/tools/bwa:1.0",
    tags: ["1.0"],
    creates: [],
    signature: "verified",
    signatureSummary: "Signed by Ana Example <ana@example.org>; every signed object is intact.",
    quotaTotal: 11 * 1024 ** 3,
    quotaUsed: 2 * 1024 ** 3,
    quotaLeftAfter: 11 * 1024 ** 3 - 2 * 1024 ** 3 - 1000 * 1024 * 1024,
    overQuota: false,
    warnings: [],
    ...overrides,
  };
}

export function cacheEntry(hash: string, overrides: Partial<CacheEntryView> = {}): CacheEntryView {
  return {
    hash,
    size: 792293,
    lastUsed: NOW_MS - DAY_MS,
    reference: "library://ana/tools/busybox:latest",
    path: `/home/ana/.cache/berth/library/${hash}`,
    ...overrides,
  };
}

/** Two cached images: one used yesterday, one 90 days ago. */
export function sampleCache(): CacheView {
  const entries = [
    cacheEntry(HASH_A),
    cacheEntry(HASH_B, { size: 3_407_872, lastUsed: NOW_MS - 90 * DAY_MS, reference: "library://ana/tools/busybox:1.36" }),
  ];
  return { dir: "/home/ana/.cache/berth/library", entries, totalBytes: entries.reduce((n, e) => n + e.size, 0) };
}

// ---- builds --------------------------------------------------------------------------

export const DEF_PATH = "/home/ana/defs/ubuntu.def";
export const BUILD_ID = "6615e3c9a2b0b1c3d4e5f601";

export function builder(remoteName: string, overrides: Partial<BuilderView> = {}): BuilderView {
  return {
    remote: remoteName,
    url: `https://build.${remoteName.toLowerCase()}.example.org`,
    loggedIn: true,
    isDefault: false,
    error: null,
    ...overrides,
  };
}

/** The default remote with a build service and a login; a second remote whose builder was not found. */
export function sampleBuilders(): BuilderView[] {
  return [
    builder("SylabsCloud", { url: "https://build.sylabs.io", isDefault: true }),
    builder("site", {
      url: null,
      loggedIn: false,
      error: { code: "remote.no_builder", message: "site advertises no build service.", hint: "Use another remote to build." },
    }),
  ];
}

export function buildJob(id: string, overrides: Partial<JobView> = {}): JobView {
  return job(id, {
    kind: "build",
    title: "Build ubuntu.sif on SylabsCloud's builder",
    source: DEF_PATH,
    destination: `${PULL_FOLDER}/ubuntu.sif`,
    phase: "building",
    ...overrides,
  });
}

export function succeededBuild(id = "job-built", overrides: Partial<BuildResultView> = {}): JobView {
  return buildJob(id, {
    state: "succeeded",
    phase: "done",
    finishedAt: NOW_MS - 5_000,
    buildId: BUILD_ID,
    result: {
      kind: "built",
      mode: "remote",
      path: `${PULL_FOLDER}/ubuntu.sif`,
      hash: HASH_A,
      size: 31_457_280,
      arch: "amd64",
      buildId: BUILD_ID,
      libraryRef: null,
      detached: false,
      ...overrides,
    },
  });
}
