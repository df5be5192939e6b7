import { buildAttach, jobCancel, jobRetry, jobsClear, jobsList, toApiError, UI_ERROR } from "./api";
import type { ApiError } from "./bindings/ApiError";
import type { JobView } from "./bindings/JobView";
import { baseName } from "./format";
import { jobReference, overallProgress, shortReference } from "./transfers";
import type { Toasts } from "./toasts.svelte";

/**
 * Every push, pull and build as the window knows them, kept by the window (not by a page) so that
 * jobs go on showing while the person browses. The list is read once; after that the
 * backend's `job-updated` events keep it current, and so do the answers of the commands
 * that start, cancel or retry a job.
 */
/**
 * Whether `incoming` is an older picture of the job than `current`. A command's answer can
 * reach the window after an event sent later (cancel answers "running" while the
 * "cancelled" event is already here); a finished job never goes back to running unless it
 * was started again (a retry has a later start time).
 */
function isOlder(incoming: JobView, current: JobView): boolean {
  return incoming.state === "running" && current.state !== "running" && incoming.startedAt <= current.startedAt;
}

export class JobsStore {
  jobs = $state<JobView[] | null>(null);
  loading = $state(false);
  /** The first load failed and there is no list to show instead. */
  loadError = $state<ApiError | null>(null);

  running: JobView[] = $derived((this.jobs ?? []).filter((j) => j.state === "running"));
  finishedCount: number = $derived((this.jobs?.length ?? 0) - this.running.length);
  /** Pulls that finished well: each may have added an image to the cache. */
  pulledCount: number = $derived(
    (this.jobs ?? []).filter((j) => j.state === "succeeded" && j.result?.kind === "pulled").length,
  );
  /** The running jobs together, for the strip. */
  overall = $derived(overallProgress(this.running));

  #toasts: Toasts;
  /** Jobs that changed while jobs_list was on its way (newer than what it will answer), by id. */
  #changedDuringLoad: Record<string, JobView> | null = null;

  constructor(toasts: Toasts) {
    this.#toasts = toasts;
  }

  async refresh(): Promise<void> {
    this.loading = true;
    this.#changedDuringLoad = {};
    try {
      const listed = await jobsList();
      const changed = this.#changedDuringLoad ?? {};
      const merged = listed.map((j) => changed[j.id] ?? j);
      const unlisted = Object.values(changed).filter((j) => !listed.some((l) => l.id === j.id));
      this.jobs = [...unlisted, ...merged];
      this.loadError = null;
    } catch (e) {
      if (this.jobs === null) this.loadError = toApiError(e);
      else this.#toasts.error("Could not read the transfers", toApiError(e));
    } finally {
      this.#changedDuringLoad = null;
      this.loading = false;
    }
  }

  /** A job as a `job-updated` event tells it; announces a push or pull that just ended. */
  apply(job: JobView): void {
    const before = this.jobs?.find((j) => j.id === job.id);
    this.put(job);
    if ((before === undefined || before.state === "running") && job.state !== "running") this.#announce(job);
  }

  /** A job as a command answered it (started, cancelled, retried): no announcement. */
  put(job: JobView): void {
    const list = this.jobs ?? [];
    const index = list.findIndex((j) => j.id === job.id);
    if (index >= 0 && isOlder(job, list[index])) return;
    if (this.#changedDuringLoad) this.#changedDuringLoad[job.id] = job;
    if (index < 0) this.jobs = [job, ...list];
    else this.jobs = list.map((j, i) => (i === index ? job : j));
  }

  /** Stop a running job. Rejects with the backend's ApiError. */
  async cancel(id: string): Promise<void> {
    this.put(await jobCancel(id));
  }

  /** Run a failed, cancelled or interrupted job again. Rejects with the backend's ApiError. */
  async retry(id: string): Promise<void> {
    this.put(await jobRetry(id));
  }

  /** Follow a detached remote build to its image (a new job). Rejects with the backend's ApiError. */
  async attach(id: string): Promise<void> {
    this.put(await buildAttach(id));
  }

  /** Forget the finished jobs. Rejects with the backend's ApiError. */
  async clearFinished(): Promise<void> {
    this.jobs = await jobsClear();
  }

  #announce(job: JobView): void {
    const result = job.result;
    if (job.state === "succeeded" && result?.kind === "pushed") {
      this.#toasts.info(
        `Pushed ${shortReference(result.reference)}`,
        result.uploaded ? (result.quotaLine ?? undefined) : "Already in the library — only tags set",
      );
    } else if (job.state === "succeeded" && result?.kind === "pulled") {
      this.#toasts.info(`Pulled ${shortReference(result.reference)}`, result.path);
    } else if (job.state === "succeeded" && result?.kind === "built") {
      if (result.detached) this.#toasts.info("Build submitted", result.buildId ? `Build id ${result.buildId}` : undefined);
      else this.#toasts.info(`Built ${result.path ? baseName(result.path) : jobReference(job)}`, result.path ?? undefined);
    } else if (job.state === "failed") {
      const what = { push: "Push", pull: "Pull", build: "Build" }[job.kind];
      const error = job.error ?? { code: UI_ERROR.unexpected, message: "The transfer stopped.", hint: null };
      this.#toasts.error(`${what} failed: ${jobReference(job)}`, error);
    }
    // Cancelled: the person did it. Interrupted: only a list read at start reports those.
  }
}
