/**
 * Words and numbers for pushes, pulls and their jobs: what the Transfers page, the strip
 * and the push and pull forms show. No state here; the jobs live in `jobs.svelte.ts`.
 */
import type { ContainerView } from "./bindings/ContainerView";
import type { JobPhase } from "./bindings/JobPhase";
import type { JobView } from "./bindings/JobView";
import { baseName, formatBytes, percentDone } from "./format";

const PHASES: Record<JobPhase, string> = {
  queued: "Waiting to start",
  verifying: "Checking signatures",
  hashing: "Computing the checksum",
  preparing: "Preparing the library records",
  uploading: "Uploading",
  tagging: "Setting tags",
  resolving: "Looking up the image",
  downloading: "Downloading",
  checking: "Checking the download",
  unpacking: "Unpacking layers",
  squashing: "Building the file system",
  submitting: "Submitting to the build service",
  building: "Building",
  finishing: "Finishing",
  done: "Done",
};

/** Where a push goes: a remote and a container, `library://e/c/n`. */
export type PushTarget = { remote: string; destination: string };

/** The step a job is in, in words. */
export function phaseLabel(phase: JobPhase): string {
  return PHASES[phase];
}

/** One or two words on where a job is: its phase while it runs, else how it ended. */
export function stateLabel(job: JobView): string {
  switch (job.state) {
    case "running":
      return phaseLabel(job.phase);
    case "succeeded":
      if (job.kind === "build") return job.result?.kind === "built" && job.result.detached ? "Submitted" : "Built";
      return job.kind === "push" ? "Pushed" : "Pulled";
    case "failed":
      return "Failed";
    case "cancelled":
      return "Cancelled";
    case "interrupted":
      return "Interrupted";
  }
}

/** Failed, cancelled and interrupted jobs can run again. */
export function canRetry(job: JobView): boolean {
  return job.state === "failed" || job.state === "cancelled" || job.state === "interrupted";
}

/** A build still running on a remote builder, which a retry follows again instead of building anew. */
export function canReattach(job: JobView): boolean {
  return job.kind === "build" && job.resumable && job.buildId !== null;
}

/** "Re-attach" for a remote build still running, "Resume from 41 %" when a retry continues from bytes already here, else "Retry". */
export function retryLabel(job: JobView): string {
  if (canReattach(job)) return "Re-attach";
  if (!job.resumable || job.resumeFrom === null || job.resumeFrom <= 0) return "Retry";
  const percent = percentDone(job.resumeFrom, job.bytesTotal);
  return `Resume from ${percent === null ? formatBytes(job.resumeFrom) : `${percent} %`}`;
}

/** `library://lab/tools/bwa:1.0` → `lab/tools/bwa:1.0`, as people say it. */
export function shortReference(reference: string): string {
  return reference.replace(/^library:\/\//, "");
}

/** What a job is about, as its messages name it: the reference pushed to or pulled from, the file a build writes. */
export function jobReference(job: JobView): string {
  if (job.kind === "build") return job.destination ? baseName(job.destination) : baseName(job.source);
  return shortReference(job.kind === "push" ? (job.destination ?? job.source) : job.source);
}

/** The running jobs together, for the strip: bytes of those that know their total, rates summed, the longest wait. */
export function overallProgress(jobs: JobView[]): {
  done: number;
  total: number | null;
  rate: number | null;
  eta: number | null;
} {
  let done = 0;
  let total = 0;
  let rate = 0;
  let eta: number | null = null;
  for (const job of jobs) {
    if (job.state !== "running") continue;
    if (job.bytesTotal !== null && job.bytesTotal > 0) {
      done += Math.min(job.bytesDone, job.bytesTotal);
      total += job.bytesTotal;
    }
    rate += job.rate ?? 0;
    if (job.etaSeconds !== null) eta = Math.max(eta ?? 0, job.etaSeconds);
  }
  return { done, total: total > 0 ? total : null, rate: rate > 0 ? rate : null, eta };
}

/** "1.0, latest ,, dev" → ["1.0", "latest", "dev"]. */
export function parseTags(text: string): string[] {
  return text
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
}

/**
 * The reference a push sends: the destination with the tags of the tags field added, as
 * `library://e/c/n:tag1,tag2`. Tags typed into the destination itself (`…/bwa:1.0`) count too.
 */
export function pushReference(destination: string, tagsText: string): string {
  const base = destination.trim();
  const colon = base.indexOf(":", base.lastIndexOf("/") + 1);
  const path = colon >= 0 ? base.slice(0, colon) : base;
  const own = colon >= 0 ? parseTags(base.slice(colon + 1)) : [];
  const tags = [...new Set([...own, ...parseTags(tagsText)])];
  return tags.length > 0 ? `${path}:${tags.join(",")}` : path;
}

/** `library://entity/collection/container` of a library container (without its host). */
export function containerReference(container: ContainerView): string {
  return `library://${container.entity}/${container.collection}/${container.name}`;
}

/**
 * Where a pull comes from: a library, a Docker/OCI image (converted to SIF by the backend),
 * a SIF stored in an OCI registry (oras), or a Singularity Hub registry (shub).
 */
export type PullKind = "library" | "docker" | "oras" | "shub";

const PULL_SCHEMES: Record<string, PullKind> = { library: "library", docker: "docker", oras: "oras", shub: "shub" };

/** The scheme of a reference, lower-cased, without `://`; null for a bare path. */
function schemeOf(reference: string): string | null {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(reference.trim())?.[1].toLowerCase() ?? null;
}

/** What a typed reference pulls from; a bare path is a library one. Null when nothing this version pulls. */
export function pullKind(reference: string): PullKind | null {
  const scheme = schemeOf(reference);
  return scheme === null ? "library" : (PULL_SCHEMES[scheme] ?? null);
}

/**
 * What is wrong with a reference typed to pull, in words, or null when it may be sent. Only
 * the scheme is checked here; the backend says what else is wrong.
 */
export function pullReferenceProblem(reference: string): string | null {
  if (reference.trim() === "") {
    return "Enter a reference to pull, like library://entity/collection/container:tag or docker://alpine:3.19.";
  }
  if (pullKind(reference) === null) {
    return `Berth pulls library://, docker://, oras:// and shub:// references, not ${schemeOf(reference)}://.`;
  }
  return null;
}

/**
 * The file a pull creates in the pull folder, as Apptainer names it: `<name>_<tag>.sif` from
 * the last path component (`latest` without a tag). Null when that is not known up front:
 * the reference is incomplete, or names an image by its id or digest.
 */
export function pullFileName(reference: string): string | null {
  if (pullKind(reference) === null) return null;
  const path = reference.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  // A digest (docker `@sha256:…`) or a library image id (`:sha256.…`) says no tag.
  if (path.includes("@") || /:sha256\./i.test(path)) return null;
  const last = path.slice(path.lastIndexOf("/") + 1);
  const colon = last.indexOf(":");
  const name = colon < 0 ? last : last.slice(0, colon);
  const tag = colon < 0 ? "latest" : last.slice(colon + 1);
  return name === "" || tag === "" ? null : `${name}_${tag}.sif`;
}

/** A SIF file by its name (drops carry paths only). */
export function isSifPath(path: string): boolean {
  return /\.sif$/i.test(path);
}
