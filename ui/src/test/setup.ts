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

// jsdom's Range has no geometry; CodeMirror measures text ranges to place the cursor and
// scroll it into view. Empty rectangles stand for "no layout", as for elements.
if (typeof Range !== "undefined" && !("getClientRects" in Range.prototype)) {
  const emptyRect = (): DOMRect => ({ x: 0, y: 0, top: 0, left: 0, right: 0, bottom: 0, width: 0, height: 0, toJSON: () => ({}) });
  Object.defineProperty(Range.prototype, "getClientRects", {
    configurable: true,
    value(): DOMRectList {
      const list = [] as unknown as DOMRectList & DOMRect[];
      Object.defineProperty(list, "item", { value: () => null });
      return list;
    },
  });
  Object.defineProperty(Range.prototype, "getBoundingClientRect", { configurable: true, value: emptyRect });
}
