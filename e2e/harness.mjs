// Starts the real Berth app under Xvfb behind tauri-driver and hands out WebDriver sessions.
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Builder, By, until } from "selenium-webdriver";

const here = path.dirname(fileURLToPath(import.meta.url));
export const testdata = process.env.BERTH_TESTDATA ?? path.resolve(here, "../../shared/testdata/sif");
export const screenshotDir = process.env.BERTH_E2E_SCREENSHOTS ?? path.join(here, "screenshots");
const app = process.env.BERTH_APP ?? path.resolve(here, "../target/debug/berth-app");
const tauriDriver =
  process.env.TAURI_DRIVER ?? path.join(process.env.CARGO_HOME ?? path.join(os.homedir(), ".cargo"), "bin", "tauri-driver");

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child, log) {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`tauri-driver exited early:\n${log()}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => { s.end(); resolve(true); });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tauri-driver did not listen on ${port}:\n${log()}`);
}

/** An X server, a tauri-driver and a fresh Berth config directory for one test file. */
export async function startDesktop() {
  const xvfb = spawn("Xvfb", ["-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const display = await new Promise((resolve, reject) => {
    xvfb.once("error", (e) => reject(new Error(`cannot start Xvfb: ${e.message} (run scripts/setup.sh test)`)));
    xvfb.stdout.once("data", (d) => resolve(`:${String(d).trim()}`));
    xvfb.once("exit", (code) => reject(new Error(`Xvfb exited with ${code}`)));
  });
  const configDir = mkdtempSync(path.join(os.tmpdir(), "berth-e2e-config-"));
  // Apptainer's keyrings live here for the test, never in the real ~/.apptainer.
  const keysDir = mkdtempSync(path.join(os.tmpdir(), "berth-e2e-keys-"));
  const port = await freePort();
  const nativePort = await freePort();
  let driverLog = "";
  const driverProc = spawn(tauriDriver, ["--port", String(port), "--native-port", String(nativePort)], {
    env: { ...process.env, DISPLAY: display, BERTH_CONFIG_DIR: configDir, APPTAINER_KEYSDIR: keysDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  driverProc.on("error", (e) => (driverLog += `cannot start ${tauriDriver}: ${e.message} (run scripts/setup.sh test)\n`));
  driverProc.stdout.on("data", (d) => (driverLog += d));
  driverProc.stderr.on("data", (d) => (driverLog += d));
  await waitForPort(port, driverProc, () => driverLog);
  mkdirSync(screenshotDir, { recursive: true });
  console.log(`e2e: screenshots in ${screenshotDir}`);

  return {
    display,
    configDir,
    keysDir,
    /** Launches the app and returns a WebDriver session on its window. */
    async launch() {
      const driver = await new Builder()
        .usingServer(`http://127.0.0.1:${port}/`)
        .withCapabilities({ browserName: "wry", "tauri:options": { application: app } })
        .build();
      await driver.wait(until.elementLocated(By.css("[data-testid=app-ready]")), 20000);
      return driver;
    },
    /** Saves what the person would see: the X screen (reliable) and WebDriver's capture. */
    async screenshot(driver, name) {
      await new Promise((r) => setTimeout(r, 400));
      const file = path.join(screenshotDir, `${name}.png`);
      try {
        execFileSync("import", ["-display", display, "-window", "root", file], { stdio: "ignore" });
      } catch {
        writeFileSync(file, await driver.takeScreenshot(), "base64");
      }
      return file;
    },
    async stop() {
      driverProc.kill("SIGTERM");
      xvfb.kill("SIGTERM");
    },
  };
}

/** Waits until `locator` matches and its text satisfies `predicate`; returns that text. */
export async function waitForText(driver, locator, predicate, timeout = 15000) {
  let last = "";
  try {
    await driver.wait(async () => {
      try {
        const els = await driver.findElements(locator);
        if (els.length === 0) return false;
        // textContent, not getText(): WebKitWebDriver returns only part of a table row's text.
        last = (await Promise.all(els.map((e) => e.getAttribute("textContent")))).join("\n");
        return predicate(last);
      } catch (e) {
        // The page re-rendered between finding and reading: look again.
        if (/not found|stale/i.test(String(e?.message ?? e))) return false;
        throw e;
      }
    }, timeout);
  } catch (e) {
    throw new Error(`text of ${locator} never matched; last seen:\n${last}\n(${e.message})`);
  }
  return last;
}

export const byTestId = (id) => By.css(`[data-testid="${id}"]`);

/** The actions every test file uses, bound to one session. */
export function actions(driver) {
  const locate = (l) => (typeof l === "string" ? byTestId(l) : l);
  /** Clicks once the element is there and enabled. */
  async function click(locator) {
    const el = await driver.wait(until.elementLocated(locate(locator)), 15000);
    await driver.wait(until.elementIsEnabled(el), 15000);
    await el.click();
  }
  /** Replaces a field's text. */
  async function type(id, text) {
    const el = await driver.wait(until.elementLocated(byTestId(id)), 10000);
    await el.clear();
    await el.sendKeys(text);
  }
  /** Adds a remote (plain http on loopback) and logs in with `token`. */
  async function loginToLibrary(name, url, token) {
    await click("nav-remotes");
    await click("add-remote-button");
    await type("remote-name", name);
    await type("remote-uri", url);
    await click("remote-insecure");
    await click("remote-add-submit");
    await click(By.css(`[data-testid="remote-row"][data-name="${name}"] [data-testid="remote-login-button"]`));
    await type("login-token", token);
    await click("login-submit");
    await waitForText(
      driver,
      By.css(`[data-testid="remote-row"][data-name="${name}"]`),
      (t) => /Logged in/i.test(t) && !/Not logged in/i.test(t),
      20000,
    );
  }
  return { click, type, loginToLibrary };
}
