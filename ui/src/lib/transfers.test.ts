import { describe, expect, test } from "vitest";
import { failedPull, job, runningPush, succeededPull, succeededPush } from "../test/fixtures";
import {
  canRetry,
  containerReference,
  isSifPath,
  jobReference,
  overallProgress,
  parseTags,
  phaseLabel,
  pullFileName,
  pullKind,
  pullReferenceProblem,
  pushReference,
  retryLabel,
  stateLabel,
} from "./transfers";

describe("job words", () => {
  test("a running job tells its phase; a finished one how it ended", () => {
    expect(stateLabel(runningPush())).toBe("Uploading");
    expect(stateLabel(job("q", { phase: "queued" }))).toBe("Waiting to start");
    expect(stateLabel(succeededPush())).toBe("Pushed");
    expect(stateLabel(succeededPull())).toBe("Pulled");
    expect(stateLabel(failedPull())).toBe("Failed");
    expect(stateLabel(job("c", { state: "cancelled" }))).toBe("Cancelled");
    expect(stateLabel(job("i", { state: "interrupted" }))).toBe("Interrupted");
    expect(phaseLabel("checking")).toBe("Checking the download");
  });

  test("only stopped jobs can run again; a resumable pull says from where", () => {
    expect(canRetry(runningPush())).toBe(false);
    expect(canRetry(succeededPush())).toBe(false);
    expect(canRetry(failedPull())).toBe(true);
    expect(canRetry(job("c", { state: "cancelled" }))).toBe(true);
    expect(canRetry(job("i", { state: "interrupted" }))).toBe(true);
    expect(retryLabel(failedPull())).toBe("Resume from 41 %");
    expect(retryLabel({ ...failedPull(), bytesTotal: null })).toBe("Resume from 420.0 MiB");
    expect(retryLabel({ ...failedPull(), resumable: false })).toBe("Retry");
    expect(retryLabel({ ...failedPull(), resumeFrom: 0 })).toBe("Retry");
  });

  test("the library side of a job, as people say it", () => {
    expect(jobReference(runningPush())).toBe("lab/tools/bwa:1.0");
    expect(jobReference(failedPull())).toBe("ana/tools/busybox:latest");
    expect(jobReference(job("p", { destination: null }))).toBe("/home/ana/images/bwa.sif");
  });
});

test("overall progress adds up the running jobs that know their size", () => {
  const a = job("a", { bytesDone: 100, bytesTotal: 400, rate: 10, etaSeconds: 30 });
  const b = job("b", { bytesDone: 50, bytesTotal: 100, rate: 5, etaSeconds: 10 });
  const hashing = job("c", { phase: "resolving", bytesDone: 0, bytesTotal: null });
  expect(overallProgress([a, b, hashing, succeededPush()])).toEqual({ done: 150, total: 500, rate: 15, eta: 30 });
  expect(overallProgress([hashing])).toEqual({ done: 0, total: null, rate: null, eta: null });
});

describe("references", () => {
  test("tags come from the tags field and the destination itself, once each", () => {
    expect(parseTags(" 1.0, latest ,,dev ")).toEqual(["1.0", "latest", "dev"]);
    expect(pushReference("library://lab/tools/bwa", "1.0, latest")).toBe("library://lab/tools/bwa:1.0,latest");
    expect(pushReference(" library://lab/tools/bwa:0.7 ", "latest,0.7")).toBe("library://lab/tools/bwa:0.7,latest");
    expect(pushReference("library://lab/tools/bwa", "  ")).toBe("library://lab/tools/bwa");
    expect(pushReference("library://host:8443/lab/tools/bwa", "1.0")).toBe("library://host:8443/lab/tools/bwa:1.0");
  });

  test("a container's reference leaves out the host", () => {
    expect(
      containerReference({
        name: "busybox",
        entity: "ana",
        collection: "tools",
        description: "",
        private: false,
        downloads: null,
        reference: "library://cloud.sylabs.io/ana/tools/busybox",
      }),
    ).toBe("library://ana/tools/busybox");
  });

  test("pulls take library://, docker://, oras:// and shub:// references and bare paths; other schemes are named", () => {
    expect(pullReferenceProblem("library://ana/tools/busybox:latest")).toBeNull();
    expect(pullReferenceProblem("ana/tools/busybox")).toBeNull();
    expect(pullReferenceProblem("LIBRARY://ana/tools/busybox")).toBeNull();
    expect(pullReferenceProblem("docker://alpine:3.20")).toBeNull();
    expect(pullReferenceProblem("  ")).toMatch(/^Enter a reference/);
    expect(pullReferenceProblem("oras://ghcr.io/x/y:1")).toBeNull();
    expect(pullReferenceProblem("SHUB://vsoch/hello-world")).toBeNull();
    expect(pullReferenceProblem("ftp://x/y.sif")).toBe("Berth pulls library://, docker://, oras:// and shub:// references, not ftp://.");
  });

  test("a pull's kind comes from the scheme; a bare path is a library one", () => {
    expect(pullKind("library://ana/tools/busybox")).toBe("library");
    expect(pullKind(" ana/tools/busybox")).toBe("library");
    expect(pullKind("docker://alpine:3.19")).toBe("docker");
    expect(pullKind("Docker://ghcr.io/org/app")).toBe("docker");
    expect(pullKind("oras://ghcr.io/org/app:1")).toBe("oras");
    expect(pullKind("shub://vsoch/hello-world")).toBe("shub");
    expect(pullKind("ftp://x/y")).toBeNull();
  });

  test("the file a pull creates is <name>_<tag>.sif, latest without a tag", () => {
    expect(pullFileName("library://ana/tools/busybox:1.36")).toBe("busybox_1.36.sif");
    expect(pullFileName("library://cloud.sylabs.io/ana/tools/busybox")).toBe("busybox_latest.sif");
    expect(pullFileName("ana/tools/bwa")).toBe("bwa_latest.sif");
    expect(pullFileName("docker://alpine:3.19")).toBe("alpine_3.19.sif");
    expect(pullFileName("docker://alpine")).toBe("alpine_latest.sif");
    expect(pullFileName("docker://127.0.0.1:5000/lab/app:2.0")).toBe("app_2.0.sif");
    expect(pullFileName("docker://ghcr.io/org/app")).toBe("app_latest.sif");
    // Not known up front: ids, digests, unfinished or unsupported references.
    expect(pullFileName(`library://ana/tools/busybox:sha256.${"a".repeat(64)}`)).toBeNull();
    expect(pullFileName(`docker://alpine@sha256:${"b".repeat(64)}`)).toBeNull();
    expect(pullFileName("docker://")).toBeNull();
    expect(pullFileName("docker://alpine:")).toBeNull();
    expect(pullFileName("oras://ghcr.io/org/app:1")).toBe("app_1.sif");
    expect(pullFileName("shub://vsoch/hello-world")).toBe("hello-world_latest.sif");
  });

  test("SIF files are told by their name", () => {
    expect(isSifPath("/a/bwa.sif")).toBe(true);
    expect(isSifPath("/a/BWA.SIF")).toBe(true);
    expect(isSifPath("/a/images")).toBe(false);
    expect(isSifPath("/a/notes.sif.txt")).toBe(false);
  });
});
