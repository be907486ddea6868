import type { Browser, Page } from 'playwright-core';
import { Backend } from './backend';
import { ApiDriver, launchChromium, openSession, type Session } from './browser';

/**
 * The scene of the browser tests: one fresh backend, and two people, Ada and Grace, each in
 * a browser context of their own with a REST driver on their cookies.
 */
export class TwoPeople {
  readonly adaApi: ApiDriver;
  readonly graceApi: ApiDriver;

  private constructor(
    readonly backend: Backend,
    readonly browser: Browser,
    readonly ada: Session,
    readonly grace: Session,
  ) {
    this.adaApi = new ApiDriver(ada.context);
    this.graceApi = new ApiDriver(grace.context);
  }

  static async open(): Promise<TwoPeople> {
    const backend = await Backend.start();
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      return new TwoPeople(backend, browser, await openSession(browser, backend.baseUrl), await openSession(browser, backend.baseUrl));
    } catch (error) {
      await browser?.close();
      await backend.dispose();
      throw error;
    }
  }

  /** Prints what the pages logged as errors (a failing test's best clue), then stops everything. */
  async close(): Promise<void> {
    const errors = [...this.ada.consoleErrors, ...this.grace.consoleErrors];
    if (errors.length > 0) console.log(`Browser console errors:\n${errors.join('\n')}`);
    await this.browser.close();
    await this.backend.dispose();
  }
}

/** Retries an assertion until it passes or the time is up, for things that arrive over the socket. */
export async function eventually(assertion: () => Promise<void>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolveWait) => setTimeout(resolveWait, 150));
    }
  }
}

export async function waitForLive(page: Page, timeoutMs = 20_000): Promise<void> {
  await page.locator('[data-testid="connection-badge"][data-status="live"]').waitFor({ timeout: timeoutMs });
}
