// A real headless browser for the status page test: Debian's chromium,
// driven by playwright-core. Installed here when missing (as root, through
// apt-get, the way CI and a newcomer's machine get it); otherwise the test
// fails saying how to install it. Never skipped.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Make sure `/usr/bin/chromium` is there: install it as root if it is not, else say how. */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `the status page test needs Debian's chromium at ${CHROMIUM}; install it with\n` +
        '  sudo apt-get update && sudo apt-get install -y chromium\n' +
        '(the test installs it by itself when it runs as root)',
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', 'chromium']]) {
    const run = spawnSync('/usr/bin/apt-get', args, { env, encoding: 'utf8' });
    if (run.status !== 0) {
      throw new Error(
        `apt-get ${args.join(' ')} failed (${run.status ?? run.signal}):\n${run.stdout}${run.stderr}`,
      );
    }
  }
  if (!existsSync(CHROMIUM))
    throw new Error(`apt-get installed chromium but ${CHROMIUM} is missing`);
}

/** A headless chromium with a fresh profile; `close()` also removes the profile. */
export async function launchBrowser(): Promise<{
  context: BrowserContext;
  close(): Promise<void>;
}> {
  const profile = mkdtempSync(join(tmpdir(), 'zrpc-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 860 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
