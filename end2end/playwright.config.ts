import { defineConfig } from '@playwright/test';

// Each backend gets its own server: the release binary (what users run) copied alone into
// an empty directory, seeded with demo data (see scripts/e2e-server.sh). Postgres joins when
// the test script found one (ATELIER_TEST_POSTGRES_URL).
const backends = [{ name: 'sqlite', port: 3100 }];
if (process.env.ATELIER_TEST_POSTGRES_URL) {
  backends.push({ name: 'postgres', port: 3101 });
}

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  forbidOnly: true,
  retries: 0,
  reporter: [['list']],
  use: {
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: backends.map((b) => ({
    name: b.name,
    use: { baseURL: `http://127.0.0.1:${b.port}` },
  })),
  webServer: backends.map((b) => ({
    command: `../scripts/e2e-server.sh ${b.name} ${b.port}`,
    url: `http://127.0.0.1:${b.port}/healthz`,
    timeout: 180_000,
    reuseExistingServer: false,
    // Lets scripts/e2e-server.sh remove its directory and database.
    gracefulShutdown: { signal: 'SIGTERM' as const, timeout: 5_000 },
    stdout: 'ignore',
    stderr: 'pipe',
  })),
});
