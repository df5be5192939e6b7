import type { Theme } from "./bindings/Theme";

export type ResolvedTheme = "light" | "dark";

const DARK_QUERY = "(prefers-color-scheme: dark)";

function darkQuery(): MediaQueryList | null {
  return typeof window !== "undefined" && typeof window.matchMedia === "function"
    ? window.matchMedia(DARK_QUERY)
    : null;
}

export function resolveTheme(theme: Theme): ResolvedTheme {
  if (theme === "light" || theme === "dark") return theme;
  return darkQuery()?.matches ? "dark" : "light";
}

/**
 * Put the theme on <html>: `data-theme` is what the CSS uses ("light" or "dark", with
 * "system" already resolved) and `data-theme-preference` is the person's choice.
 */
export function applyTheme(theme: Theme, root: HTMLElement = document.documentElement): ResolvedTheme {
  const resolved = resolveTheme(theme);
  root.dataset.theme = resolved;
  root.dataset.themePreference = theme;
  root.style.colorScheme = resolved;
  return resolved;
}

/** Call `onChange` when the OS switches between light and dark. Returns a stop function. */
export function watchSystemTheme(onChange: () => void): () => void {
  const mq = darkQuery();
  if (!mq) return () => {};
  const listener = () => onChange();
  if (typeof mq.addEventListener === "function") {
    mq.addEventListener("change", listener);
    return () => mq.removeEventListener("change", listener);
  }
  // Safari < 14 only has the deprecated API.
  mq.addListener(listener);
  return () => mq.removeListener(listener);
}

export const THEME_CHOICES: readonly { value: Theme; label: string }[] = [
  { value: "system", label: "System" },
  { value: "light", label: "Light" },
  { value: "dark", label: "Dark" },
];
