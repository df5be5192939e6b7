import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { svelteTesting } from "@testing-library/svelte/vite";

export default defineConfig({
  plugins: [svelte(), svelteTesting()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  // Only index.html is an entry point: the fake-backend harness in harness/ is served by
  // `npm run dev` for looking at the UI in a browser and never lands in dist/.
  build: { outDir: "dist", emptyOutDir: true, target: "safari13" },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
    setupFiles: ["src/test/setup.ts"],
  },
});
