import { remotesList, toApiError } from "./api";
import type { ApiError } from "./bindings/ApiError";
import type { RemoteStatusView } from "./bindings/RemoteStatusView";
import type { RemoteView } from "./bindings/RemoteView";

/**
 * The library remotes as the window knows them, shared by the Remotes and Library pages.
 * The backend owns the truth; every change hands back (or is followed by) the new list.
 * Tokens never reach the UI, only whether one is stored.
 */
export class RemotesStore {
  remotes = $state<RemoteView[] | null>(null);
  loading = $state(false);
  /** The last load failed and there is no list to show instead. */
  loadError = $state<ApiError | null>(null);
  /** The last status read of each remote (by name), e.g. for the user's entity. */
  statuses = $state<Record<string, RemoteStatusView>>({});

  defaultRemote: RemoteView | null = $derived(
    this.remotes?.find((r) => r.isDefault) ?? this.remotes?.[0] ?? null,
  );

  #seq = 0;

  async refresh(): Promise<void> {
    const seq = ++this.#seq;
    this.loading = true;
    try {
      const remotes = await remotesList();
      if (seq !== this.#seq) return;
      this.set(remotes);
      this.loadError = null;
    } catch (e) {
      if (seq !== this.#seq) return;
      this.loadError = toApiError(e);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }

  /** Take a list the backend handed back after a change. */
  set(remotes: RemoteView[]): void {
    ++this.#seq;
    this.loading = false;
    this.remotes = remotes;
    this.loadError = null;
  }

  /** Take one remote as the backend now describes it. */
  upsert(remote: RemoteView): void {
    const list = this.remotes ?? [];
    const others = list.filter((r) => r.name !== remote.name);
    const next = remote.isDefault ? others.map((r) => ({ ...r, isDefault: false })) : others;
    const index = list.findIndex((r) => r.name === remote.name);
    if (index < 0) next.push(remote);
    else next.splice(index, 0, remote);
    this.remotes = next;
  }

  setStatus(status: RemoteStatusView): void {
    this.statuses = { ...this.statuses, [status.remote.name]: status };
    this.upsert(status.remote);
  }

  forget(name: string): void {
    const { [name]: _gone, ...rest } = this.statuses;
    void _gone;
    this.statuses = rest;
  }
}
