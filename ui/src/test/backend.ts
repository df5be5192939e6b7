/**
 * A fake Berth backend for component tests, on top of `mockIPC`: it keeps a catalog and
 * settings, records every command, and lets a test replace any command's answer.
 */
import { emit } from "@tauri-apps/api/event";
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import type { Catalog } from "../lib/bindings/Catalog";
import type { ImageDetails } from "../lib/bindings/ImageDetails";
import type { Theme } from "../lib/bindings/Theme";
import { busyboxDetails, image } from "./fixtures";

export type Call = { cmd: string; args: Record<string, unknown> };
type Handler = (args: Record<string, unknown>) => unknown;

export interface FakeBackendOptions {
  catalog?: Catalog;
  theme?: Theme;
  details?: (path: string) => ImageDetails;
  /** Replace a command: return a value, a promise, or throw an ApiError to reject. */
  handlers?: Record<string, Handler>;
}

export function fakeBackend(options: FakeBackendOptions = {}) {
  const state = {
    catalog: structuredClone(options.catalog ?? { images: [], folders: [] }),
    theme: options.theme ?? ("system" as Theme),
  };
  const calls: Call[] = [];
  const handlers: Record<string, Handler> = { ...options.handlers };
  const details = options.details ?? ((path: string) => busyboxDetails(path));

  const defaults: Record<string, Handler> = {
    catalog_list: () => state.catalog,
    catalog_add_paths: (args) => {
      for (const path of args.paths as string[]) {
        if (path.endsWith("/")) {
          state.catalog.folders.push({ path, imageCount: 0, error: null });
        } else if (!state.catalog.images.some((img) => img.path === path)) {
          state.catalog.images.push(image(path));
        }
      }
      return state.catalog;
    },
    catalog_remove_image: (args) => {
      state.catalog.images = state.catalog.images.filter((img) => img.path !== args.path);
      return state.catalog;
    },
    catalog_remove_folder: (args) => {
      state.catalog.folders = state.catalog.folders.filter((f) => f.path !== args.path);
      state.catalog.images = state.catalog.images.filter(
        (img) => img.source !== "watched" || !img.path.startsWith(`${args.path as string}/`),
      );
      return state.catalog;
    },
    image_inspect: (args) => details(args.path as string),
    settings_get: () => ({ theme: state.theme }),
    settings_set_theme: (args) => {
      state.theme = args.theme as Theme;
      return { theme: state.theme };
    },
    "plugin:dialog|open": () => null,
  };

  mockWindows("main");
  mockIPC(
    (cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      const handler = handlers[cmd] ?? defaults[cmd];
      if (!handler) throw { code: "test.unknown_command", message: `no fake for ${cmd}`, hint: null };
      // Hand out copies, as the real IPC does, so the UI never shares our state.
      return Promise.resolve(handler(args)).then((value) =>
        value === undefined ? value : structuredClone(value),
      );
    },
    { shouldMockEvents: true },
  );

  return {
    state,
    calls,
    handlers,
    /** Arguments of every call of `cmd`, oldest first. */
    callsOf(cmd: string): Record<string, unknown>[] {
      return calls.filter((c) => c.cmd === cmd).map((c) => c.args);
    },
    /** Fire a webview drag-and-drop event the way Tauri does. */
    async drag(kind: "enter" | "over" | "drop" | "leave", paths: string[] = []): Promise<void> {
      const position = { x: 10, y: 10 };
      const payload = kind === "leave" ? null : kind === "over" ? { position } : { paths, position };
      await emit(`tauri://drag-${kind}`, payload);
    },
  };
}
