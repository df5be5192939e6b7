import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "./App.svelte";
import { fakeBackend } from "./test/backend";
import {
  dockerPull,
  emptyCatalog,
  failedPull,
  HASH_A,
  HASH_B,
  job,
  NOW_MS,
  PULL_FOLDER,
  pullJob,
  runningPush,
  sampleCache,
  sampleRemotes,
  succeededPull,
  succeededBuild,
  succeededPush,
} from "./test/fixtures";

type Options = Parameters<typeof fakeBackend>[0];

async function openTransfers(options: Options = {}) {
  const backend = fakeBackend({ catalog: emptyCatalog(), remotes: sampleRemotes(), ...options });
  const user = userEvent.setup();
  render(App);
  await screen.findByTestId("app-ready");
  await user.click(screen.getByTestId("nav-transfers"));
  return { backend, user };
}

function card(id: string): HTMLElement {
  const found = screen.queryAllByTestId("job-card").find((c) => c.getAttribute("data-id") === id);
  if (!found) throw new Error(`no job card ${id}`);
  return found;
}

function toastTexts(): string[] {
  return screen.queryAllByTestId("toast").map((t) => t.textContent ?? "");
}

describe("job cards", () => {
  test("a running push shows its phase, a real progress bar, bytes, rate and ETA, and Cancel", async () => {
    await openTransfers({ jobs: [runningPush()] });
    const running = await waitFor(() => card("job-push"));
    expect(running).toHaveAttribute("data-state", "running");
    expect(within(running).getByRole("img", { name: "Push" })).toBeInTheDocument();
    expect(within(running).getByTestId("job-state")).toHaveTextContent("Uploading");
    const bar = within(running).getByRole("progressbar", { name: "Push bwa.sif to library://lab/tools/bwa:1.0: Uploading" });
    expect(bar).toHaveAttribute("aria-valuenow", "40");
    expect(bar).toHaveAttribute("aria-valuemax", "100");
    expect(bar).toHaveAttribute("aria-valuetext", "40 %, 400.0 MiB of 1000.0 MiB");
    expect(within(running).getByTestId("job-bytes")).toHaveTextContent("400.0 MiB of 1000.0 MiB");
    expect(within(running).getByTestId("job-rate")).toHaveTextContent("40.0 MiB/s");
    expect(within(running).getByTestId("job-eta")).toHaveTextContent("15 s left");
    expect(within(running).getByTestId("job-cancel")).toBeEnabled();
    expect(within(running).queryByTestId("job-retry")).not.toBeInTheDocument();
  });

  test("a phase without a known size shows a moving bar and no numbers", async () => {
    await openTransfers({ jobs: [pullJob("resolving", { phase: "resolving" })] });
    const resolving = await waitFor(() => card("resolving"));
    expect(within(resolving).getByTestId("job-phase")).toHaveTextContent("Looking up the image");
    expect(within(resolving).getByRole("progressbar")).not.toHaveAttribute("aria-valuenow");
    expect(within(resolving).queryByTestId("job-rate")).not.toBeInTheDocument();
    expect(within(resolving).queryByTestId("job-eta")).not.toBeInTheDocument();
  });

  test("a failed pull says why and what to do, and offers to resume where it stopped", async () => {
    await openTransfers({ jobs: [failedPull()] });
    const failed = await waitFor(() => card("job-pull-failed"));
    expect(within(failed).getByTestId("job-state")).toHaveTextContent("Failed");
    const error = within(failed).getByTestId("job-error");
    expect(error).toHaveTextContent("The pull failed");
    expect(error).toHaveTextContent("The connection to cloud.sylabs.io was lost.");
    expect(error).toHaveTextContent("Check your network, then resume the pull.");
    expect(within(failed).getByTestId("job-retry")).toHaveTextContent("Resume from 41 %");
    expect(within(failed).queryByTestId("job-cancel")).not.toBeInTheDocument();
    expect(within(failed).queryByRole("progressbar")).not.toBeInTheDocument();
  });

  test("interrupted and cancelled jobs say so and can be retried", async () => {
    await openTransfers({
      jobs: [job("quit", { state: "interrupted" }), job("stopped", { state: "cancelled" })],
    });
    const quit = await waitFor(() => card("quit"));
    expect(quit).toHaveTextContent("Berth was closed while this transfer was running.");
    expect(within(quit).getByTestId("job-retry")).toHaveTextContent("Retry");
    expect(card("stopped")).toHaveTextContent("Cancelled; nothing was kept.");
    expect(within(card("stopped")).getByTestId("job-retry")).toHaveTextContent("Retry");
  });

  test("a finished push shows the quota line, the container's page, and what it created", async () => {
    const { backend, user } = await openTransfers({ jobs: [succeededPush()] });
    const done = await waitFor(() => card("job-pushed"));
    expect(within(done).getByTestId("job-state")).toHaveTextContent("Pushed");
    expect(within(done).getByTestId("result-reference")).toHaveTextContent("library://lab/tools/bwa:1.0");
    expect(within(done).getByTestId("result-quota")).toHaveTextContent(
      "Library storage: using 13.24 MiB out of 11.00 GiB quota (0.1% used)",
    );
    const link = within(done).getByTestId("result-url");
    expect(link).toHaveAttribute("href", "https://cloud.sylabs.io/library/lab/tools/bwa");
    // The window stays on Berth: the page opens in the browser.
    await user.click(link);
    expect(backend.callsOf("open_web_page")).toEqual([{ url: "https://cloud.sylabs.io/library/lab/tools/bwa" }]);
    expect(within(done).getByRole("button", { name: "Copy address" })).toBeInTheDocument();
    expect(within(done).getByTestId("result-created")).toHaveTextContent("lab/tools/bwa");
    expect(within(done).queryByTestId("result-tags-only")).not.toBeInTheDocument();
    expect(within(done).queryByTestId("job-retry")).not.toBeInTheDocument();
  });

  test("a push of bytes the library already had says only tags were set", async () => {
    await openTransfers({ jobs: [succeededPush("tagged", { uploaded: false, created: [], containerUrl: null })] });
    const done = await waitFor(() => card("tagged"));
    expect(within(done).getByTestId("result-tags-only")).toHaveTextContent("Already in the library — only tags set");
    expect(within(done).queryByTestId("result-url")).not.toBeInTheDocument();
    expect(within(done).queryByTestId("result-created")).not.toBeInTheDocument();
  });

  test("a finished pull shows where the file is, its hash, and the signature check", async () => {
    await openTransfers({ jobs: [succeededPull()] });
    const done = await waitFor(() => card("job-pulled"));
    expect(within(done).getByTestId("result-path")).toHaveTextContent("/home/ana/pulled/busybox_latest.sif");
    expect(within(done).getByTestId("result-hash")).toHaveTextContent(HASH_A);
    expect(within(done).getByRole("button", { name: "Copy hash" })).toBeInTheDocument();
    const verify = within(done).getByTestId("verify-status");
    expect(verify).toHaveAttribute("data-verified", "true");
    expect(verify).toHaveTextContent("Verified");
    expect(verify).toHaveTextContent("Signed by Ana Example <ana@example.org>; every signed object is intact.");
    expect(within(done).queryByTestId("result-from-cache")).not.toBeInTheDocument();
  });

  test("a pull from the cache, a resumed one, one that did not verify and one that could not be checked", async () => {
    await openTransfers({
      jobs: [
        succeededPull("cached", { fromCache: true }),
        succeededPull("resumed", {
          resumedFrom: 420 * 1024 * 1024,
          verify: { verified: false, summary: "The image is not signed.", error: null, signatures: [] },
        }),
        succeededPull("unchecked", {
          verify: null,
          verifyError: { code: "key.keyring_corrupt", message: "Your keyring cannot be read.", hint: "Move it aside." },
        }),
      ],
    });
    expect(await waitFor(() => within(card("cached")).getByTestId("result-from-cache"))).toHaveTextContent(
      "From cache — nothing was downloaded",
    );
    expect(within(card("resumed")).getByTestId("result-resumed")).toHaveTextContent("Resumed from 420.0 MiB");
    const notVerified = within(card("resumed")).getByTestId("verify-status");
    expect(notVerified).toHaveAttribute("data-verified", "false");
    expect(notVerified).toHaveTextContent("Not verified");
    expect(notVerified).toHaveTextContent("The image is not signed.");
    const unchecked = within(card("unchecked")).getByTestId("verify-status");
    expect(unchecked).toHaveTextContent("Not checked");
    expect(unchecked).toHaveTextContent("Your keyring cannot be read.");
    expect(unchecked).toHaveTextContent("Move it aside.");
  });
});

describe("acting on jobs", () => {
  test("Cancel stops a running job; Resume restarts it under the same id", async () => {
    const { backend, user } = await openTransfers({ jobs: [runningPush(), failedPull()] });
    await user.click(await waitFor(() => within(card("job-push")).getByTestId("job-cancel")));
    await waitFor(() => expect(card("job-push")).toHaveAttribute("data-state", "cancelled"));
    expect(backend.callsOf("job_cancel")).toEqual([{ id: "job-push" }]);

    await user.click(within(card("job-pull-failed")).getByTestId("job-retry"));
    await waitFor(() => expect(card("job-pull-failed")).toHaveAttribute("data-state", "running"));
    expect(backend.callsOf("job_retry")).toEqual([{ id: "job-pull-failed" }]);
    // The resumed pull starts from the bytes it had.
    expect(within(card("job-pull-failed")).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "41");
  });

  test("a cancel whose answer arrives after the cancelled event leaves the job cancelled", async () => {
    const { backend, user } = await openTransfers({ jobs: [runningPush()] });
    const running = await waitFor(() => card("job-push"));
    backend.handlers.job_cancel = async () => {
      // The backend's event overtakes the command's answer, which still says "running".
      await backend.emitJob({ ...runningPush(), state: "cancelled", finishedAt: runningPush().startedAt + 1000 });
      return runningPush();
    };
    await user.click(within(running).getByTestId("job-cancel"));
    await waitFor(() => expect(card("job-push")).toHaveAttribute("data-state", "cancelled"));
    await new Promise((r) => setTimeout(r, 50));
    expect(card("job-push")).toHaveAttribute("data-state", "cancelled");
  });

  test("a refused cancel says why", async () => {
    const { user } = await openTransfers({
      jobs: [runningPush()],
      handlers: {
        job_cancel: () => {
          throw { code: "job.not_found", message: "no transfer with id job-push", hint: "The transfer list changed; refresh it." };
        },
      },
    });
    await user.click(await waitFor(() => within(card("job-push")).getByTestId("job-cancel")));
    await waitFor(() => expect(toastTexts()).toContainEqual(expect.stringContaining("Could not cancel the push of lab/tools/bwa:1.0")));
    expect(card("job-push")).toHaveAttribute("data-state", "running");
  });

  test("Clear finished keeps only the running jobs", async () => {
    const { backend, user } = await openTransfers({ jobs: [runningPush(), succeededPush(), failedPull()] });
    await waitFor(() => expect(screen.getAllByTestId("job-card")).toHaveLength(3));
    expect(screen.getByTestId("transfers-summary")).toHaveTextContent("1 running · 2 finished");
    await user.click(screen.getByTestId("jobs-clear-button"));
    await waitFor(() => expect(screen.getAllByTestId("job-card")).toHaveLength(1));
    expect(backend.callsOf("jobs_clear")).toEqual([{}]);
    expect(card("job-push")).toBeInTheDocument();
    expect(screen.getByTestId("jobs-clear-button")).toBeDisabled();
  });

  test("with no jobs the page teaches how to start one", async () => {
    const { user } = await openTransfers();
    const empty = await screen.findByTestId("jobs-empty");
    expect(empty).toHaveTextContent(
      "No transfers yet — drop a SIF file on the window to push it, or pull an image from the Library page",
    );
    expect(screen.getByTestId("jobs-clear-button")).toBeDisabled();
    await user.click(within(empty).getByRole("button", { name: "Pull by reference…" }));
    expect(screen.getByTestId("nav-pull")).toHaveAttribute("aria-current", "page");
  });
});

describe("job-updated events", () => {
  test("progress updates the card; the end of a push is announced with its reference", async () => {
    const { backend } = await openTransfers({ jobs: [runningPush()] });
    await waitFor(() => card("job-push"));
    await backend.emitJob({ ...runningPush(), bytesDone: 900 * 1024 * 1024, etaSeconds: 3 });
    await waitFor(() => expect(within(card("job-push")).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "90"));
    expect(within(card("job-push")).getByTestId("job-eta")).toHaveTextContent("3 s left");
    expect(toastTexts()).toEqual([]);

    await backend.emitJob({ ...succeededPush(), id: "job-push" });
    await waitFor(() => expect(card("job-push")).toHaveAttribute("data-state", "succeeded"));
    expect(toastTexts()).toContainEqual(expect.stringContaining("Pushed lab/tools/bwa:1.0"));
    expect(toastTexts()).toContainEqual(expect.stringContaining("Library storage: using 13.24 MiB"));
  });

  test("a job that appears is added on top; a failed pull is announced with its error", async () => {
    const { backend } = await openTransfers({ jobs: [succeededPush()] });
    await waitFor(() => card("job-pushed"));
    await backend.emitJob(pullJob("new-pull"));
    await waitFor(() => expect(screen.getAllByTestId("job-card").map((c) => c.dataset.id)).toEqual(["new-pull", "job-pushed"]));

    await backend.emitJob({ ...failedPull(), id: "new-pull" });
    await waitFor(() => expect(card("new-pull")).toHaveAttribute("data-state", "failed"));
    const toast = screen.getAllByTestId("toast").find((t) => t.dataset.kind === "error");
    expect(toast).toHaveTextContent("Pull failed: ana/tools/busybox:latest");
    expect(toast).toHaveTextContent("The connection to cloud.sylabs.io was lost.");
  });

  test("a docker:// pull shows each of its phases, then where the SIF went", async () => {
    const idle = { bytesDone: 0, bytesTotal: null, rate: null, etaSeconds: null };
    const { backend } = await openTransfers({ jobs: [dockerPull("job-docker", { phase: "resolving", ...idle })] });
    const docker = () => card("job-docker");
    await waitFor(() => docker());
    expect(within(docker()).getByRole("heading", { level: 3 })).toHaveTextContent("Pull docker://alpine:3.19");
    expect(within(docker()).getByRole("img", { name: "Pull" })).toBeInTheDocument();
    expect(docker()).toHaveTextContent("docker.io");
    expect(within(docker()).getByTestId("job-phase")).toHaveTextContent("Looking up the image");

    const MiB = 1024 * 1024;
    const steps = [
      { phase: "downloading", label: "Downloading", bytes: { bytesDone: 15 * MiB, bytesTotal: 30 * MiB }, percent: "50" },
      { phase: "unpacking", label: "Unpacking layers", bytes: { bytesDone: 12 * MiB, bytesTotal: 30 * MiB }, percent: "40" },
      { phase: "squashing", label: "Building the file system", bytes: {}, percent: null },
      { phase: "finishing", label: "Finishing", bytes: {}, percent: null },
    ] as const;
    for (const step of steps) {
      await backend.emitJob(dockerPull("job-docker", { ...idle, phase: step.phase, ...step.bytes }));
      await waitFor(() => expect(within(docker()).getByTestId("job-phase")).toHaveTextContent(step.label));
      const bar = within(docker()).getByRole("progressbar", { name: `Pull docker://alpine:3.19: ${step.label}` });
      if (step.percent === null) expect(bar).not.toHaveAttribute("aria-valuenow");
      else expect(bar).toHaveAttribute("aria-valuenow", step.percent);
    }

    const path = `${PULL_FOLDER}/alpine_3.19.sif`;
    await backend.emitJob(
      dockerPull("job-docker", {
        state: "succeeded",
        phase: "done",
        finishedAt: NOW_MS,
        result: {
          kind: "pulled",
          path,
          reference: "docker://alpine:3.19",
          hash: HASH_A,
          size: 3_407_872,
          fromCache: false,
          resumedFrom: 0,
          verify: null,
          verifyError: null,
        },
      }),
    );
    await waitFor(() => expect(docker()).toHaveAttribute("data-state", "succeeded"));
    expect(within(docker()).getByTestId("job-state")).toHaveTextContent("Pulled");
    expect(within(docker()).getByTestId("result-path")).toHaveTextContent(path);
    expect(toastTexts()).toContainEqual(expect.stringContaining("Pulled docker://alpine:3.19"));
  });

  test("a job that ends by a cancel is not announced", async () => {
    const { backend } = await openTransfers({ jobs: [runningPush()] });
    await waitFor(() => card("job-push"));
    await backend.emitJob({ ...runningPush(), state: "cancelled" });
    await waitFor(() => expect(card("job-push")).toHaveAttribute("data-state", "cancelled"));
    expect(toastTexts()).toEqual([]);
  });
});

describe("transfers strip", () => {
  test("shows while a job runs, with the overall progress, and leads to Transfers", async () => {
    const backend = fakeBackend({ catalog: emptyCatalog(), jobs: [runningPush(), succeededPull()] });
    const user = userEvent.setup();
    render(App);
    await screen.findByTestId("app-ready");
    const strip = await screen.findByTestId("transfers-strip");
    expect(strip).toHaveTextContent("1 transfer running");
    expect(strip).toHaveTextContent("40 %");
    expect(within(strip).getByRole("progressbar", { name: "All running transfers" })).toHaveAttribute("aria-valuenow", "40");
    expect(within(strip).getByTestId("transfers-strip-details")).toHaveTextContent("400.0 MiB of 1000.0 MiB · 40.0 MiB/s · 15 s left");
    expect(screen.getByTestId("nav-transfers-count")).toHaveTextContent("1");

    await user.click(within(strip).getByTestId("transfers-strip-open"));
    expect(screen.getByTestId("nav-transfers")).toHaveAttribute("aria-current", "page");
    await waitFor(() => expect(document.getElementById("transfers-page-title")).toHaveFocus());

    await backend.emitJob({ ...succeededPush(), id: "job-push" });
    await waitFor(() => expect(screen.queryByTestId("transfers-strip")).not.toBeInTheDocument());
    expect(screen.queryByTestId("nav-transfers-count")).not.toBeInTheDocument();
  });

  test("is absent when nothing moves", async () => {
    await openTransfers({ jobs: [succeededPush()] });
    await waitFor(() => card("job-pushed"));
    expect(screen.queryByTestId("transfers-strip")).not.toBeInTheDocument();
  });
});

describe("cache", () => {
  test("lists cached images with size, last use and reference", async () => {
    await openTransfers({ cache: sampleCache() });
    const rows = await screen.findAllByTestId("cache-row");
    expect(rows.map((r) => r.dataset.hash)).toEqual([HASH_A, HASH_B]);
    expect(rows[0]).toHaveTextContent("sha256.aa11bb22cc33");
    expect(rows[0]).toHaveTextContent("773.7 KiB");
    expect(rows[1]).toHaveTextContent("library://ana/tools/busybox:1.36");
    expect(screen.getByTestId("cache-summary")).toHaveTextContent("2 images · 4.0 MiB in /home/ana/.cache/berth/library");
  });

  test("is read again when a pull finishes, since the pull put an image there", async () => {
    const { backend } = await openTransfers({ jobs: [pullJob("p1")], cache: sampleCache() });
    await screen.findAllByTestId("cache-row");
    const before = backend.callsOf("cache_list").length;
    await backend.emitJob({ ...succeededPull(), id: "p1" });
    await waitFor(() => expect(backend.callsOf("cache_list").length).toBe(before + 1));
  });

  test("Clean… first shows what would go, then removes it on a second yes", async () => {
    const { backend, user } = await openTransfers({ cache: sampleCache() });
    await screen.findAllByTestId("cache-row");
    await user.click(screen.getByTestId("cache-clean-button"));
    const dialog = await screen.findByTestId("cache-clean-dialog");
    expect(screen.getByTestId("cache-clean-days")).toHaveValue("30");
    await user.click(within(dialog).getByTestId("cache-clean-preview-button"));

    const preview = await within(dialog).findByTestId("cache-clean-preview");
    expect(preview).toHaveTextContent("1 image would be removed, freeing 3.3 MiB");
    expect(preview).toHaveTextContent("sha256.bb22cc33dd44");
    expect(preview).toHaveTextContent("library://ana/tools/busybox:1.36");
    expect(backend.callsOf("cache_clean")).toEqual([{ olderThanDays: 30, dryRun: true }]);
    // Nothing was removed yet.
    expect(screen.getAllByTestId("cache-row")).toHaveLength(2);

    await user.click(within(dialog).getByTestId("cache-clean-confirm"));
    await waitFor(() => expect(screen.queryByTestId("cache-clean-dialog")).not.toBeInTheDocument());
    expect(backend.callsOf("cache_clean")).toEqual([
      { olderThanDays: 30, dryRun: true },
      { olderThanDays: 30, dryRun: false },
    ]);
    await waitFor(() => expect(screen.getAllByTestId("cache-row")).toHaveLength(1));
    expect(toastTexts()).toContainEqual(expect.stringContaining("Removed 1 cached image"));
  });

  test("changing the days asks for a new preview; an empty field means every image", async () => {
    const { backend, user } = await openTransfers({ cache: sampleCache() });
    await screen.findAllByTestId("cache-row");
    await user.click(screen.getByTestId("cache-clean-button"));
    await user.click(await screen.findByTestId("cache-clean-preview-button"));
    await screen.findByTestId("cache-clean-confirm");
    await user.clear(screen.getByTestId("cache-clean-days"));
    expect(screen.queryByTestId("cache-clean-confirm")).not.toBeInTheDocument();
    await user.click(screen.getByTestId("cache-clean-preview-button"));
    expect(await screen.findByTestId("cache-clean-preview")).toHaveTextContent("2 images would be removed");
    expect(backend.callsOf("cache_clean")[1]).toEqual({ olderThanDays: null, dryRun: true });

    await user.type(screen.getByTestId("cache-clean-days"), "ten");
    expect(screen.getByTestId("cache-clean-dialog")).toHaveTextContent("Give a whole number of days");
    expect(screen.getByTestId("cache-clean-preview-button")).toBeDisabled();
  });
});

describe("detached builds", () => {
  test("a detached build's card attaches to it, which starts a job that follows it", async () => {
    const detached = succeededBuild("job-detached", { detached: true, path: null, hash: null, size: 0 });
    const { user } = await openTransfers({ jobs: [detached, succeededBuild("job-done")] });
    // Only the detached one can be attached to.
    expect(within(card("job-done")).queryByTestId("job-attach")).toBeNull();
    await user.click(within(card("job-detached")).getByTestId("job-attach"));
    const follow = await waitFor(() => {
      const found = screen.getAllByTestId("job-card").find((c) => c.getAttribute("data-state") === "running");
      if (!found) throw new Error("no running job yet");
      return found;
    });
    expect(follow).toHaveAttribute("data-kind", "build");
    expect(follow).toHaveTextContent(`Attach to build ${detached.buildId}`);
  });
});
