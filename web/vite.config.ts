import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The gateway serves the built files at `/`; `npm run dev` proxies the API to
// a gateway started by `make run` so the app can be worked on with hot reload.
const gateway = process.env.GUILDHALL_GATEWAY_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    // Everything ships with the build: no CDN, no runtime fetch of code from elsewhere.
    assetsInlineLimit: 4096,
  },
  server: {
    host: "127.0.0.1",
    proxy: {
      "/v1": { target: gateway, changeOrigin: false },
      "/openapi.json": gateway,
      "/oauth": gateway,
      "/dev": gateway,
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    setupFiles: ["src/test-setup.ts"],
    restoreMocks: true,
  },
});
