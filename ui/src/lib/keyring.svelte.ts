import { keyserverPull, keysExport, keysGenerate, keysImport, keysList, keysRemove, toApiError } from "./api";
import type { ApiError } from "./bindings/ApiError";
import type { KeyView } from "./bindings/KeyView";
import type { NewKeyRequest } from "./bindings/NewKeyRequest";
import { signingKeys } from "./keys";
import type { Toasts } from "./toasts.svelte";

/**
 * Apptainer's keyrings as the window knows them. The backend owns the truth: after every
 * change the list is read again, so what is shown is what is on disk.
 *
 * The actions reject with an ApiError, so the dialog that started one can show it in place.
 */
export class KeyringStore {
  keys = $state<KeyView[] | null>(null);
  /** A keys_list call is in flight. */
  loading = $state(false);
  /** The last load failed and there is no list to show instead. */
  loadError = $state<ApiError | null>(null);
  /** Number of changes (generate, import, pull, remove) in flight. */
  pending = $state(0);

  /** Keys that can sign an image. */
  signing: KeyView[] = $derived(signingKeys(this.keys ?? []));

  #toasts: Toasts;
  #seq = 0;

  constructor(toasts: Toasts) {
    this.#toasts = toasts;
  }

  async refresh(): Promise<void> {
    const seq = ++this.#seq;
    this.loading = true;
    try {
      const keys = await keysList();
      if (seq !== this.#seq) return;
      this.keys = keys;
      this.loadError = null;
    } catch (e) {
      if (seq !== this.#seq) return;
      const err = toApiError(e);
      if (this.keys === null) this.loadError = err;
      else this.#toasts.error("Could not read your keyrings", err);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }

  /** Create a key pair; resolves to the new key once the list shows it. */
  async generate(request: NewKeyRequest): Promise<KeyView> {
    return this.#change(async () => {
      const key = await keysGenerate(request);
      await this.refresh();
      return key;
    });
  }

  /** Import a key file; resolves to the imported keys. */
  async importFile(path: string, newPassphrase: string | null): Promise<KeyView[]> {
    return this.#change(async () => {
      const imported = await keysImport(path, newPassphrase);
      await this.refresh();
      return imported;
    });
  }

  /** Fetch a key from the keyservers into the local public keyring; resolves to the imported keys. */
  async pull(fingerprint: string): Promise<KeyView[]> {
    return this.#change(async () => {
      const imported = await keyserverPull(fingerprint);
      await this.refresh();
      return imported;
    });
  }

  async exportKey(fingerprint: string, secret: boolean, armor: boolean, path: string): Promise<void> {
    await keysExport(fingerprint, secret, armor, path);
  }

  /** Remove a key from the local keyrings; the answer is the new list. */
  async remove(fingerprint: string): Promise<void> {
    await this.#change(async () => {
      ++this.#seq;
      this.keys = await keysRemove(fingerprint);
      this.loadError = null;
      this.loading = false;
    });
  }

  async #change<T>(run: () => Promise<T>): Promise<T> {
    this.pending += 1;
    try {
      return await run();
    } catch (e) {
      throw toApiError(e);
    } finally {
      this.pending -= 1;
    }
  }
}
