import "@testing-library/jest-dom/vitest";
import { clearMocks } from "@tauri-apps/api/mocks";
import { cleanup } from "@testing-library/svelte";
import { afterEach, vi } from "vitest";

// jsdom has no matchMedia; the theme code asks it about prefers-color-scheme.
if (typeof window.matchMedia !== "function") {
  Object.defineProperty(window, "matchMedia", {
    configurable: true,
    writable: true,
    value: vi.fn((query: string) => ({
      matches: false,
      media: query,
      onchange: null,
      addEventListener: vi.fn(),
      removeEventListener: vi.fn(),
      addListener: vi.fn(),
      removeListener: vi.fn(),
      dispatchEvent: vi.fn(() => false),
    })),
  });
}

afterEach(() => {
  // Unmount first: components stop listening while the fake IPC is still there.
  cleanup();
  clearMocks();
  // clearMocks() leaves an empty object behind; the app treats any object as a backend.
  delete window.__TAURI_INTERNALS__;
  document.documentElement.removeAttribute("data-theme");
  document.documentElement.removeAttribute("data-theme-preference");
});

// jsdom has no layout engine and no ResizeObserver; `bind:clientWidth` needs one. Width
// stays 0, which the components treat as "unknown: show everything".
if (!("ResizeObserver" in globalThis)) {
  class NoLayoutResizeObserver {
    observe(): void {}
    unobserve(): void {}
    disconnect(): void {}
  }
  globalThis.ResizeObserver = NoLayoutResizeObserver as unknown as typeof ResizeObserver;
}
