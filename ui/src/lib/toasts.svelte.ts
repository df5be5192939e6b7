import { getContext, setContext } from "svelte";
import type { ApiError } from "./bindings/ApiError";

export type Toast =
  | { id: number; kind: "error"; title: string; error: ApiError }
  | { id: number; kind: "info"; title: string; detail?: string };

const INFO_TIMEOUT_MS = 5000;
const MAX_TOASTS = 4;

/** Messages about actions: errors stay until dismissed, notes fade after a few seconds. */
export class Toasts {
  items = $state<Toast[]>([]);
  #next = 1;

  error(title: string, error: ApiError): number {
    const id = this.#next++;
    this.#push({ id, kind: "error", title, error });
    return id;
  }

  /** A note; `detail` is a second, quieter line (e.g. what a server answered). */
  info(title: string, detail?: string): number {
    const id = this.#next++;
    this.#push(detail ? { id, kind: "info", title, detail } : { id, kind: "info", title });
    setTimeout(() => this.dismiss(id), INFO_TIMEOUT_MS);
    return id;
  }

  dismiss(id: number): void {
    this.items = this.items.filter((t) => t.id !== id);
  }

  #push(toast: Toast): void {
    this.items = [...this.items, toast].slice(-MAX_TOASTS);
  }
}

const KEY = Symbol("berth.toasts");

export function provideToasts(toasts: Toasts): Toasts {
  return setContext(KEY, toasts);
}

export function useToasts(): Toasts {
  const toasts = getContext<Toasts | undefined>(KEY);
  if (!toasts) throw new Error("useToasts() needs provideToasts() in a parent component");
  return toasts;
}
