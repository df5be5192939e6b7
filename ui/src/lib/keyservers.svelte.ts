import { settingsGet, settingsSetKeyservers, toApiError } from "./api";
import type { ApiError } from "./bindings/ApiError";
import type { Settings } from "./bindings/Settings";

/**
 * The keyserver URLs from the settings, tried in order. Read with the other settings when
 * the window opens; the Keys page reads them again when that failed.
 */
export class KeyserverSettings {
  servers = $state<string[] | null>(null);
  loading = $state(false);
  /** The last read failed and there is no list to show instead. */
  loadError = $state<ApiError | null>(null);

  #seq = 0;

  /** Take the list from settings read elsewhere (the window reads them once at start). */
  apply(settings: Settings): void {
    ++this.#seq;
    this.servers = [...(settings.keyservers ?? [])];
    this.loadError = null;
    this.loading = false;
  }

  async refresh(): Promise<void> {
    const seq = ++this.#seq;
    this.loading = true;
    try {
      const settings = await settingsGet();
      if (seq !== this.#seq) return;
      this.servers = [...(settings.keyservers ?? [])];
      this.loadError = null;
    } catch (e) {
      if (seq === this.#seq && this.servers === null) this.loadError = toApiError(e);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }

  /** Save a new list; rejects with the backend's ApiError (e.g. `keyserver.invalid_url`). */
  async save(servers: string[]): Promise<void> {
    let settings: Settings;
    try {
      settings = await settingsSetKeyservers(servers);
    } catch (e) {
      throw toApiError(e);
    }
    this.apply(settings);
  }
}
