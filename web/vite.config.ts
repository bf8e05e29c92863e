import { defineConfig } from "vite";

// Relative asset URLs, so the built page works from any folder of a static host.
export default defineConfig({
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", sourcemap: true },
});
