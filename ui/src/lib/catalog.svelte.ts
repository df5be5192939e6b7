import {
  catalogAddPaths,
  catalogList,
  catalogRemoveFolder,
  catalogRemoveImage,
  toApiError,
} from "./api";
import type { ApiError } from "./bindings/ApiError";
import type { Catalog } from "./bindings/Catalog";
import type { LocalImage } from "./bindings/LocalImage";
import type { WatchedFolder } from "./bindings/WatchedFolder";
import { baseName, plural } from "./format";
import type { Toasts } from "./toasts.svelte";

/**
 * The Local images catalog as the window knows it. The backend owns the truth; every
 * mutation returns the whole new catalog, which simply replaces this one.
 */
export class CatalogStore {
  catalog = $state<Catalog | null>(null);
  /** A catalog_list call is in flight. */
  loading = $state(false);
  /** The first load failed, so there is nothing to show but this. */
  loadError = $state<ApiError | null>(null);
  /** Number of add/remove calls in flight. */
  pending = $state(0);

  images: LocalImage[] = $derived(this.catalog?.images ?? []);
  folders: WatchedFolder[] = $derived(this.catalog?.folders ?? []);

  #toasts: Toasts;

  constructor(toasts: Toasts) {
    this.#toasts = toasts;
  }

  async refresh(): Promise<void> {
    this.loading = true;
    try {
      this.catalog = await catalogList();
      this.loadError = null;
    } catch (e) {
      const err = toApiError(e);
      if (this.catalog === null) this.loadError = err;
      else this.#toasts.error("Could not rescan the catalog", err);
    } finally {
      this.loading = false;
    }
  }

  /** Add files and folders. Returns the new catalog, or null when the call failed. */
  async addPaths(paths: string[]): Promise<Catalog | null> {
    if (paths.length === 0) return null;
    const what = paths.length === 1 ? baseName(paths[0]) : plural(paths.length, "item");
    return this.#mutate(`Could not add ${what}`, () => catalogAddPaths(paths));
  }

  async removeImage(path: string): Promise<Catalog | null> {
    return this.#mutate(`Could not forget ${baseName(path)}`, () => catalogRemoveImage(path));
  }

  async removeFolder(path: string): Promise<Catalog | null> {
    return this.#mutate(`Could not stop watching ${path}`, () => catalogRemoveFolder(path));
  }

  async #mutate(failure: string, run: () => Promise<Catalog>): Promise<Catalog | null> {
    this.pending += 1;
    try {
      const next = await run();
      this.catalog = next;
      this.loadError = null;
      return next;
    } catch (e) {
      this.#toasts.error(failure, toApiError(e));
      return null;
    } finally {
      this.pending -= 1;
    }
  }
}
