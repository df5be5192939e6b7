import { pickFolder, settingsSetPullFolder, toApiError, TRANSFER_ERROR, transferPull } from "./api";
import type { ApiError } from "./bindings/ApiError";
import type { JobView } from "./bindings/JobView";
import type { PullRequest } from "./bindings/PullRequest";
import type { Settings } from "./bindings/Settings";
import type { JobsStore } from "./jobs.svelte";
import type { Toasts } from "./toasts.svelte";

/**
 * Starting pulls, for the Library and Pull pages alike, with the two questions a pull may
 * need answered first: where pulled images go (asked once, then remembered in the
 * settings), and whether to replace a file that is in the way (asked every time).
 */
export class PullStarter {
  /** The pull folder from the settings; null when none was chosen yet (or not read yet). */
  folder = $state<string | null>(null);
  /** A pull waiting for the person to say whether to replace the file in its way. */
  replacing = $state<{ request: PullRequest; error: ApiError } | null>(null);

  #jobs: JobsStore;
  #toasts: Toasts;

  constructor(jobs: JobsStore, toasts: Toasts) {
    this.#jobs = jobs;
    this.#toasts = toasts;
  }

  /** Take the folder from settings read elsewhere (the window reads them once at start). */
  apply(settings: Settings): void {
    this.folder = settings.pullFolder ?? null;
  }

  /** Ask for the pull folder and save it. Resolves to null when the person cancels; rejects with an ApiError. */
  async chooseFolder(): Promise<string | null> {
    const picked = await pickFolder("Folder for pulled images");
    if (picked === null) return null;
    let settings: Settings;
    try {
      settings = await settingsSetPullFolder(picked);
    } catch (e) {
      throw toApiError(e);
    }
    this.apply(settings);
    return this.folder;
  }

  /**
   * Start a pull. Resolves to the job, or to null when it waits for an answer (the folder
   * picker was cancelled, or a file is in the way: see {@link replacing}). Rejects with the
   * backend's ApiError for everything else (a bad reference, say), for the caller to show.
   */
  async start(request: PullRequest): Promise<JobView | null> {
    return this.#start(request, false);
  }

  /** The person agreed to replace the file in the way: send the pull again with `force`. */
  async replace(): Promise<void> {
    const waiting = this.replacing;
    this.replacing = null;
    if (!waiting) return;
    try {
      await this.#start({ ...waiting.request, force: true }, true);
    } catch (e) {
      this.#toasts.error(`Could not pull ${waiting.request.reference}`, toApiError(e));
    }
  }

  /** The person keeps the existing file: the pull is dropped. */
  keep(): void {
    this.replacing = null;
  }

  async #start(request: PullRequest, askedFolder: boolean): Promise<JobView | null> {
    try {
      const job = await transferPull(request);
      this.#jobs.put(job);
      this.#toasts.info("Pull started", job.title);
      return job;
    } catch (e) {
      const error = toApiError(e);
      if (error.code === TRANSFER_ERROR.noDestination && request.destination === null && !askedFolder) {
        // Asked once: after this the folder is in the settings.
        const folder = await this.chooseFolder();
        return folder === null ? null : this.#start(request, true);
      }
      if (error.code === TRANSFER_ERROR.destinationExists && !request.force) {
        this.replacing = { request, error };
        return null;
      }
      throw error;
    }
  }
}
