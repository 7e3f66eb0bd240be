// Horizon (Debian's openstack-dashboard + python3-magnum-ui, brought up by
// devstack/aio/lib/berth-horizon.sh) driven in Debian's headless Chromium
// through npm playwright-core: the browser launch (never a downloaded
// browser), login, and the few AngularJS widgets the Container Infra panels
// are made of (tables with row actions, schema-form wizards, confirm
// dialogs, toasts). Every page error, unexpected console error, failed
// request and failed /api/ call is recorded, so a suite can assert that a
// step went through cleanly; screenshots go to test/artifacts/horizon/.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type BrowserContext, chromium, type Locator, type Page, type Response } from 'playwright-core';

import { ARTIFACTS } from './cluster-service';

export const HORIZON_URL = (process.env.BERTH_TEST_HORIZON_URL ?? 'http://127.0.0.1:8080').replace(
  /\/+$/,
  '',
);
/** Debian's chromium (its wrapper script sets the Debian flags and library path) */
export const CHROMIUM = process.env.BERTH_TEST_CHROMIUM ?? '/usr/bin/chromium';
/** Horizon's log: magnumclient writes every request it sends to the cluster service there */
export const HORIZON_LOG = process.env.BERTH_TEST_HORIZON_LOG ?? '/var/log/berth-aio/horizon.log';
export const SHOTS = join(ARTIFACTS, 'horizon');

/**
 * Headless, and nothing that reaches out of the machine (no QUIC, no
 * component updates, no sync, no first-run); no sandbox (root in a
 * container). launchPersistentContext adds --user-data-dir (a fresh one).
 */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Console errors Horizon and magnum-ui log by themselves, whatever the API
 * answers (shared/reference/horizon-magnum-ui.md §7): Debian's
 * angular-gettext calls angular.lowercase, which AngularJS 1.8 removed
 * (nothing visible breaks in English); and magnum-ui disables its "Rotate
 * Certificate" cluster action with `$qExtensions.booleanAsPromise(false)`
 * (clusters/rotate-certificate/rotate-certificate.service.js), a rejection
 * nobody handles, which AngularJS 1.8 reports as "Possibly unhandled
 * rejection: undefined" when the cluster actions are evaluated. Every /api/
 * answer is still checked on its own (>= 400 is a problem).
 */
const KNOWN_CONSOLE_ERRORS = [
  /angular\.lowercase is not a function/,
  /^Possibly unhandled rejection: undefined$/,
];

export interface ApiCall {
  method: string;
  path: string;
  status: number;
  /** the request body the browser sent, if any */
  body?: string;
}

export class Horizon {
  /** problems since the last takeProblems(): page errors, console errors, failed requests, /api/ answers >= 400 */
  private problems: string[] = [];
  /** every /api/ call the browser made, in order */
  readonly apiCalls: ApiCall[] = [];
  private shotNo = 0;

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly profileDir: string,
  ) {
    page.on('pageerror', (e) => this.problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !KNOWN_CONSOLE_ERRORS.some((re) => re.test(m.text())))
        this.problems.push(`console error: ${m.text()}`);
    });
    page.on('requestfailed', (r) => {
      // a navigation aborts the previous page's pending XHRs: not a failure of Horizon
      if (r.failure()?.errorText === 'net::ERR_ABORTED') return;
      this.problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`);
    });
    page.on('response', (r) => this.onResponse(r));
  }

  /** Launches Debian's Chromium with a fresh profile; every request off loopback is refused. */
  static async open(): Promise<Horizon> {
    mkdirSync(SHOTS, { recursive: true });
    const profileDir = mkdtempSync(join(tmpdir(), 'berth-horizon-chromium-'));
    const context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 900 },
    });
    await context.route('**/*', (route) => {
      const host = new URL(route.request().url()).hostname;
      return host === '127.0.0.1' || host === 'localhost' ? route.continue() : route.abort();
    });
    context.setDefaultTimeout(60_000);
    const page = context.pages()[0] ?? (await context.newPage());
    return new Horizon(context, page, profileDir);
  }

  private onResponse(r: Response): void {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/api/')) {
      const call: ApiCall = {
        method: r.request().method(),
        path: url.pathname + url.search,
        status: r.status(),
      };
      const body = r.request().postData();
      if (body) call.body = body;
      this.apiCalls.push(call);
      if (r.status() >= 400) this.problems.push(`${call.method} ${call.path} -> ${r.status()}`);
    } else if (r.status() >= 400) {
      this.problems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
    }
  }

  /** The problems recorded since the last call (and forgets them). */
  takeProblems(): string[] {
    const p = this.problems;
    this.problems = [];
    return p;
  }

  /** The /api/ calls with this method whose path starts with `prefix`. */
  calls(method: string, prefix: string): ApiCall[] {
    return this.apiCalls.filter((c) => c.method === method && c.path.startsWith(prefix));
  }

  /** Logs in through the login form and lands on `next`; `shotName`: a screenshot of the filled form. */
  async login(username: string, password: string, next: string, shotName?: string): Promise<void> {
    await this.page.goto(`${HORIZON_URL}/auth/login/?next=${encodeURIComponent(next)}`);
    await this.page.fill('#id_username', username);
    await this.page.fill('#id_password', password);
    if (shotName) await this.shot(shotName);
    await Promise.all([
      this.page.waitForURL((u) => !u.pathname.startsWith('/auth/login')),
      this.page.click('#loginBtn'),
    ]);
  }

  /** Opens a Horizon page and waits until the AngularJS table has rows (data or "No items to display."). */
  async openPanel(path: string): Promise<void> {
    await this.page.goto(`${HORIZON_URL}${path}`);
    await this.page.locator('table tbody tr').first().waitFor();
  }

  /** The table row showing `text` (e.g. a resource name). */
  row(text: string): Locator {
    return this.page.locator('table tbody tr', { hasText: text });
  }

  /** The text of a row, whitespace collapsed. */
  async rowText(text: string): Promise<string> {
    return (await this.row(text).first().innerText()).replace(/\s+/g, ' ').trim();
  }

  /** Runs a row's action from its dropdown (e.g. "Update Cluster Template"). */
  async rowAction(rowText: string, action: string): Promise<void> {
    const row = this.row(rowText).first();
    await row.locator('.dropdown-toggle').click();
    await row.locator('.dropdown-menu').getByText(action, { exact: true }).click();
  }

  /**
   * A page-level action button (e.g. "Create Cluster Template"). Its
   * accessible name starts with the Font Awesome icon's glyph (CSS content),
   * hence the leading non-word characters.
   */
  async pageAction(name: string): Promise<void> {
    await this.page
      .getByRole('button', { name: new RegExp(`^[\\W\\s]*${name}\\s*$`) })
      .first()
      .click();
  }

  /** Screenshot NN-name.png under test/artifacts/horizon/ (numbered in the order taken). */
  async shot(name: string): Promise<string> {
    this.shotNo += 1;
    const path = join(SHOTS, `${String(this.shotNo).padStart(2, '0')}-${name}.png`);
    await this.page.screenshot({ path, fullPage: true });
    return path;
  }

  /**
   * Waits for a toast that says `expected` (e.g. "Deleted cluster template:
   * x.") and returns its whole text. Earlier toasts may still be showing,
   * hence the match on the text.
   */
  async toast(
    expected: string,
    kind: 'success' | 'danger' | 'info' | 'warning' = 'success',
  ): Promise<string> {
    // Horizon's <toast> directive (horizon/_messages.html)
    const t = this.page.locator(`toast .alert-${kind}`, { hasText: expected }).last();
    await t.waitFor();
    return (await t.innerText()).replace(/\s+/g, ' ').trim();
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => undefined);
    rmSync(this.profileDir, { recursive: true, force: true });
  }
}

/** The open wizard (schema-form modal) of the Container Infra panels. */
export class Wizard {
  readonly modal: Locator;

  constructor(private readonly page: Page) {
    this.modal = page.locator('.modal-dialog');
  }

  /** Waits until the wizard shows, with its selects filled from the APIs. */
  async ready(): Promise<this> {
    await this.submitButton().waitFor();
    return this;
  }

  submitButton(): Locator {
    return this.modal.locator('.modal-footer button', { hasText: 'Submit' });
  }

  async tab(title: string): Promise<void> {
    await this.modal.locator('.wizard-nav li', { hasText: title }).first().click();
  }

  field(name: string): Locator {
    return this.modal.locator(`[name="${name}"]`);
  }

  async fill(name: string, value: string): Promise<void> {
    await this.field(name).fill(value);
  }

  /** Chooses an option by its label, once the select lists it (options come from API calls). */
  async select(name: string, label: string): Promise<void> {
    const sel = this.field(name);
    await sel.locator('option', { hasText: label }).first().waitFor({ state: 'attached' });
    await sel.selectOption({ label });
  }

  /** Sets a checkbox: Horizon's themable checkboxes hide the input behind their label, which takes the click. */
  async check(name: string, on = true): Promise<void> {
    if ((await this.field(name).isChecked()) !== on) await this.modal.locator(`label[for="${name}"]`).click();
    if ((await this.field(name).isChecked()) !== on)
      throw new Error(`checkbox ${name} did not turn ${on ? 'on' : 'off'}`);
  }

  /** The selected option's label ('' when none). */
  async selected(name: string): Promise<string> {
    return this.field(name).evaluate((el) => {
      // a <select>, typed structurally (no DOM lib in the test build)
      const s = el as unknown as { selectedIndex: number; options: ArrayLike<{ text: string }> };
      return s.selectedIndex >= 0 ? (s.options[s.selectedIndex]?.text ?? '') : '';
    });
  }

  /**
   * Waits until a field shows what `ok` accepts: an input's value or a
   * select's label. The wizards fill fields asynchronously (an update loads
   * the template, picking a cluster template fills the flavors).
   */
  async waitUntil(name: string, ok: (shown: string) => boolean, timeoutMs = 30_000): Promise<string> {
    const field = this.field(name);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const tag = await field.evaluate((el) => el.tagName);
      const shown = tag === 'SELECT' ? await this.selected(name) : await field.inputValue();
      if (ok(shown)) return shown;
      if (Date.now() > deadline) throw new Error(`wizard field ${name} still shows "${shown}"`);
      await this.page.waitForTimeout(200);
    }
  }

  /** Clicks Submit (enabled once every required field is valid) and waits for the modal to close. */
  async submit(): Promise<void> {
    await this.submitButton().click();
    await this.modal.waitFor({ state: 'detached' });
  }
}

/** Confirms Horizon's delete dialog with its button (e.g. "Delete Cluster Template"). */
export async function confirmDelete(page: Page, button: string): Promise<void> {
  const modal = page.locator('.modal-dialog');
  await modal.waitFor();
  await modal.getByRole('button', { name: button, exact: true }).click();
  await modal.waitFor({ state: 'detached' });
}

/** A request Horizon's REST proxy sent to the cluster service, as magnumclient logged it. */
export interface MagnumRequest {
  method: string;
  url: string;
  /** the JSON body, parsed */
  body?: unknown;
}

/** Where Horizon's log ends now: pass it to magnumRequestsSince. */
export function horizonLogOffset(): number {
  return statSync(HORIZON_LOG).size;
}

/**
 * The requests magnumclient logged after `offset` (its debug line is
 * `curl -i -X METHOD -H ... [-d '<body>'] URL`; the body is not quoted, and
 * holds single quotes when labels travel as a Python literal).
 */
export function magnumRequestsSince(offset: number): MagnumRequest[] {
  const text = readFileSync(HORIZON_LOG).subarray(offset).toString('utf8');
  const out: MagnumRequest[] = [];
  for (const line of text.split('\n')) {
    const m = /magnumclient\S* curl -i -X (\w+) .*? (https?:\/\/\S+)$/.exec(line);
    if (!m) continue;
    const req: MagnumRequest = { method: m[1] ?? '', url: m[2] ?? '' };
    const body = / -d '(.*)' https?:\/\/\S+$/.exec(line);
    if (body?.[1]) req.body = JSON.parse(body[1]);
    out.push(req);
  }
  return out;
}
