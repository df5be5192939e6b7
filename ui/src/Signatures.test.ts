import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "./App.svelte";
import { fakeBackend } from "./test/backend";
import {
  ALPINE,
  ANA_FP,
  BUSYBOX,
  busyboxDetails,
  CI_FP,
  ERIN_FP,
  fetchedView,
  importedView,
  mixedView,
  sampleCatalog,
  sampleKeys,
} from "./test/fixtures";

type Options = Parameters<typeof fakeBackend>[0];

const BAD_PASSPHRASE = { code: "key.bad_passphrase", message: "The passphrase is wrong.", hint: null };

/** Open the Signatures tab of `path` in the Local images details. */
async function openSignatures(path: string, options: Options = {}) {
  const backend = fakeBackend({ catalog: sampleCatalog(), keys: sampleKeys(), ...options });
  const user = userEvent.setup();
  render(App);
  await screen.findByTestId("app-ready");
  const row = screen.getAllByTestId("image-row").find((r) => r.getAttribute("data-path") === path);
  if (!row) throw new Error(`no row for ${path}`);
  await user.click(row);
  const pane = await screen.findByTestId("detail-pane");
  const tab = await within(pane).findByTestId("tab-signatures");
  await user.click(tab);
  return { backend, user, pane };
}

function imageRow(path: string): HTMLElement {
  const row = screen.getAllByTestId("image-row").find((r) => r.getAttribute("data-path") === path);
  if (!row) throw new Error(`no row for ${path}`);
  return row;
}

describe("verify", () => {
  test("the Signatures tab sits after Objects and counts the signatures", async () => {
    const { pane } = await openSignatures(BUSYBOX);
    const tabs = within(pane).getAllByRole("tab").map((t) => t.getAttribute("data-testid"));
    expect(tabs.slice(0, 3)).toEqual(["tab-header", "tab-objects", "tab-signatures"]);
    expect(within(pane).getByTestId("tab-signatures")).toHaveAttribute("id", "tab-signatures");
    expect(within(pane).getByTestId("tab-signatures")).toHaveTextContent("Signatures1");
    expect(within(pane).getByTestId("signatures-intro")).toHaveTextContent("This image has 1 signature.");
  });

  test("Verify shows a green verdict and one card per signature", async () => {
    const { backend, user, pane } = await openSignatures(BUSYBOX);
    await user.click(within(pane).getByTestId("verify-button"));
    const summary = await within(pane).findByTestId("verify-summary");
    expect(backend.callsOf("image_verify")).toEqual([{ path: BUSYBOX, fetchMissing: false }]);
    expect(summary).toHaveClass("success");
    expect(summary).toHaveAttribute("data-verified", "true");
    expect(summary).toHaveTextContent("Signed by Ana Example <ana@example.org>; every signed object is intact.");

    const [card] = within(pane).getAllByTestId("signature-card");
    expect(card).toHaveAttribute("data-state", "valid");
    expect(card).toHaveTextContent("Ana Example <ana@example.org>");
    expect(card).toHaveTextContent("1137 E72E 6816 BFC0 6D9C AA0D 15F3 F4F4 F14B 03B2");
    expect(card).toHaveTextContent("Local keyring");
    expect(card).toHaveTextContent("PGP");
    expect(card).toHaveTextContent("Object 5, for group 1");
    expect(within(card).getByTestId("signature-state")).toHaveTextContent("Valid");
    // The objects it covers, with their types from the objects table.
    const objects = within(card).getByTestId("signature-objects");
    expect(objects).toHaveTextContent("1Def.FILE");
    expect(objects).toHaveTextContent("2JSON.Generic");
    expect(objects).toHaveTextContent("4FS");
    expect(card).toHaveTextContent("The signature is good and the key is in your local keyring.");
    expect(within(card).queryByText("Technical detail")).not.toBeInTheDocument();
  });

  test("valid, unknown-signer and tampered signatures each say what they are", async () => {
    const { user, pane } = await openSignatures(BUSYBOX, { verify: () => mixedView() });
    await user.click(within(pane).getByTestId("verify-button"));
    const summary = await within(pane).findByTestId("verify-summary");
    expect(summary).toHaveClass("danger");
    expect(summary).toHaveAttribute("data-verified", "false");
    expect(summary).toHaveTextContent("Verification failed");
    expect(summary).toHaveTextContent("1 of 3 signatures verified; the image was changed after it was signed.");
    expect(within(summary).getByText("integrity: object 4: hash mismatch")).toBeInTheDocument();

    const cards = within(pane).getAllByTestId("signature-card");
    expect(cards.map((c) => c.getAttribute("data-state"))).toEqual(["valid", "unknownSigner", "tampered"]);

    const unknown = cards[1];
    expect(unknown).toHaveTextContent("Unknown signer");
    expect(within(unknown).getByTestId("signature-state")).toHaveTextContent("Unknown key");
    expect(unknown).toHaveTextContent("DSSE");
    expect(unknown).toHaveTextContent("Not in your keyrings");
    expect(unknown).toHaveTextContent("Import the signer's public key to check it.");
    const detail = within(unknown).getByText("Technical detail").closest("details");
    expect(detail).toHaveTextContent("openpgp: signature made by unknown entity");

    const tampered = cards[2];
    expect(tampered).toHaveTextContent("Bob Builder <bob@example.org>");
    expect(within(tampered).getByTestId("signature-state")).toHaveTextContent("Tampered");
    expect(within(tampered).getByTestId("signature-state")).toHaveClass("danger");
    expect(tampered).toHaveTextContent("Legacy");
    expect(within(tampered).getByTestId("signature-objects")).toHaveTextContent(/^4FS$/);
  });

  test("only unknown signers give an amber verdict", async () => {
    const view = mixedView();
    view.signatures = [view.signatures[1]];
    const { user, pane } = await openSignatures(BUSYBOX, { verify: () => view });
    await user.click(within(pane).getByTestId("verify-button"));
    const summary = await within(pane).findByTestId("verify-summary");
    expect(summary).toHaveClass("warning");
    expect(summary).toHaveTextContent("Not fully verified");
  });

  test("an unsigned image says there is nothing to verify", async () => {
    const { user, pane } = await openSignatures(ALPINE, {
      details: (path) => ({ ...busyboxDetails(path), signatureCount: 0 }),
      handlers: {
        image_verify: () => {
          throw { code: "integrity.no_signatures", message: "The image has no signatures.", hint: null };
        },
      },
    });
    expect(within(pane).getByTestId("signatures-intro")).toHaveTextContent("This image is not signed.");
    await user.click(within(pane).getByTestId("verify-button"));
    expect(await within(pane).findByTestId("verify-unsigned")).toHaveTextContent("This image is not signed.");
    expect(within(pane).queryByTestId("verify-error")).not.toBeInTheDocument();
  });

  test("another failure shows the error with a way to try again", async () => {
    let calls = 0;
    const { user, pane } = await openSignatures(BUSYBOX, {
      handlers: {
        image_verify: () => {
          calls += 1;
          throw { code: "io.permission_denied", message: "Berth may not read this file.", hint: "Ask for read access." };
        },
      },
    });
    await user.click(within(pane).getByTestId("verify-button"));
    const error = await within(pane).findByTestId("verify-error");
    expect(error).toHaveTextContent("Berth may not read this file.");
    await user.click(within(error).getByRole("button", { name: "Try again" }));
    await waitFor(() => expect(calls).toBe(2));
  });
});

describe("sign", () => {
  test("signing with a protected key sends the passphrase, then shows the result and refreshes the list", async () => {
    let release: (() => void) | undefined;
    const { backend, user, pane } = await openSignatures(ALPINE);
    const sign = backend.defaults.image_sign;
    backend.handlers.image_sign = (args) => new Promise((resolve) => (release = () => resolve(sign(args))));
    expect(within(imageRow(ALPINE)).getByText("Unsigned")).toBeInTheDocument();
    const listsBefore = backend.callsOf("catalog_list").length;

    await user.click(within(pane).getByTestId("sign-button"));
    const dialog = await screen.findByRole("dialog", { name: "Sign alpine-3.20.sif" });
    // Only keys with a secret that can sign are offered; Ana's comes first.
    const select = within(dialog).getByTestId("sign-key") as HTMLSelectElement;
    expect(Array.from(select.options).map((o) => o.textContent)).toEqual([
      "Ana Example <ana@example.org> · F14B 03B2",
      "CI Robot (nightly builds) <ci@example.org> · 1C2D 3E4F",
    ]);
    expect(select).toHaveValue(ANA_FP);
    const passphrase = within(dialog).getByTestId("sign-passphrase");
    expect(passphrase).toHaveAttribute("type", "password");
    expect(document.getElementById("sign-passphrase")).toBe(passphrase);

    await user.type(passphrase, "s3cret words");
    await user.click(within(dialog).getByTestId("sign-confirm"));
    await waitFor(() =>
      expect(backend.callsOf("image_sign")).toEqual([{ path: ALPINE, fingerprint: ANA_FP, passphrase: "s3cret words" }]),
    );
    expect(within(dialog).getByTestId("sign-progress")).toHaveTextContent("Signing… large images take a moment");
    expect(passphrase).toHaveValue("");
    expect(within(dialog).getByTestId("sign-confirm")).toBeDisabled();

    release?.();
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    const summary = await within(pane).findByTestId("verify-summary");
    expect(summary).toHaveTextContent("Signed and verified");
    expect(summary).toHaveTextContent("Signed by Ana Example <ana@example.org>");
    expect(within(pane).getAllByTestId("signature-card")).toHaveLength(1);
    // The catalog was read again, so the list shows the new signature.
    await waitFor(() => expect(backend.callsOf("catalog_list").length).toBeGreaterThan(listsBefore));
    await waitFor(() => expect(within(imageRow(ALPINE)).getByText("Signed")).toBeInTheDocument());
    expect(within(pane).getByTestId("tab-signatures")).toHaveAttribute("aria-selected", "true");
  });

  test("a key without a passphrase signs without asking for one", async () => {
    const { backend, user, pane } = await openSignatures(ALPINE);
    await user.click(within(pane).getByTestId("sign-button"));
    const dialog = await screen.findByRole("dialog");
    await user.selectOptions(within(dialog).getByTestId("sign-key"), CI_FP);
    expect(within(dialog).queryByTestId("sign-passphrase")).not.toBeInTheDocument();
    await user.click(within(dialog).getByTestId("sign-confirm"));
    await waitFor(() =>
      expect(backend.callsOf("image_sign")).toEqual([{ path: ALPINE, fingerprint: CI_FP, passphrase: null }]),
    );
  });

  test("a wrong passphrase keeps the dialog open and asks again", async () => {
    let attempts = 0;
    const { backend, user, pane } = await openSignatures(ALPINE, {
      handlers: {
        image_sign: (args) => {
          attempts += 1;
          if (attempts === 1) throw BAD_PASSPHRASE;
          return backend.defaults.image_sign(args);
        },
      },
    });
    await user.click(within(pane).getByTestId("sign-button"));
    const dialog = await screen.findByRole("dialog");
    const passphrase = within(dialog).getByTestId("sign-passphrase");
    await user.type(passphrase, "wrong");
    await user.click(within(dialog).getByTestId("sign-confirm"));

    expect(await within(dialog).findByTestId("sign-wrong-passphrase")).toHaveTextContent("Wrong passphrase — try again");
    expect(screen.getByRole("dialog")).toBe(dialog);
    expect(passphrase).toHaveValue("");
    expect(passphrase).toHaveFocus();
    expect(passphrase).toHaveAttribute("aria-invalid", "true");
    expect(within(pane).queryByTestId("verify-summary")).not.toBeInTheDocument();

    await user.type(passphrase, "right{Enter}");
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(backend.callsOf("image_sign").map((a) => a.passphrase)).toEqual(["wrong", "right"]);
    expect(await within(pane).findByTestId("verify-summary")).toHaveClass("success");
  });

  test("an empty passphrase for a protected key is not sent", async () => {
    const { backend, user, pane } = await openSignatures(ALPINE);
    await user.click(within(pane).getByTestId("sign-button"));
    const dialog = await screen.findByRole("dialog");
    await user.click(within(dialog).getByTestId("sign-confirm"));
    expect(dialog).toHaveTextContent("Enter the passphrase of this key.");
    expect(backend.callsOf("image_sign")).toHaveLength(0);
  });

  test("other signing errors are shown in the dialog", async () => {
    const { user, pane } = await openSignatures(ALPINE, {
      handlers: {
        image_sign: () => {
          throw { code: "key.cannot_sign", message: "This key may not make signatures.", hint: "Choose another key." };
        },
      },
    });
    await user.click(within(pane).getByTestId("sign-button"));
    const dialog = await screen.findByRole("dialog");
    await user.type(within(dialog).getByTestId("sign-passphrase"), "x");
    await user.click(within(dialog).getByTestId("sign-confirm"));
    const error = await within(dialog).findByTestId("sign-error");
    expect(error).toHaveTextContent("This key may not make signatures.");
    expect(error).toHaveTextContent("Choose another key.");
  });

  test("Escape closes the sign dialog but not the details", async () => {
    const { user, pane } = await openSignatures(ALPINE);
    await user.click(within(pane).getByTestId("sign-button"));
    await screen.findByRole("dialog");
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(screen.getByTestId("detail-pane")).toBeInTheDocument();
    await waitFor(() => expect(within(pane).getByTestId("sign-button")).toHaveFocus());
  });

  test("without a key to sign with, the dialog explains and leads to the Keys page", async () => {
    const keys = sampleKeys().filter((k) => !k.hasSecret);
    const { backend, user, pane } = await openSignatures(ALPINE, { keys });
    await user.click(within(pane).getByTestId("sign-button"));
    const dialog = await screen.findByRole("dialog");
    const none = within(dialog).getByTestId("sign-no-key");
    expect(none).toHaveTextContent("You have no key to sign with");
    expect(none).toHaveTextContent("Create a key pair, or import a secret key");
    expect(within(dialog).queryByTestId("sign-confirm")).not.toBeInTheDocument();

    await user.click(within(dialog).getByTestId("sign-go-to-keys"));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(await screen.findByTestId("keys-table")).toBeInTheDocument();
    expect(screen.getByTestId("nav-keys")).toHaveAttribute("aria-current", "page");
    expect(backend.callsOf("image_sign")).toHaveLength(0);

    // Back on Local images, the same image is still open.
    await user.click(screen.getByTestId("nav-local-images"));
    expect(screen.getByTestId("detail-pane")).toHaveAttribute("data-path", ALPINE);
  });

  test("a damaged image cannot be signed, and the button says why", async () => {
    const { user, pane } = await openSignatures(BUSYBOX, {
      details: (path) => ({
        ...busyboxDetails(path),
        damage: { code: "sif.damaged", message: "Object 4 ends past the end of the file.", hint: null },
      }),
    });
    const sign = within(pane).getByTestId("sign-button");
    expect(sign).toBeDisabled();
    expect(sign.getAttribute("title")).toMatch(/damaged: Object 4 ends past the end of the file\./);
    expect(pane).toHaveTextContent("Damaged images cannot be signed.");
    // Verifying is still allowed.
    expect(within(pane).getByTestId("verify-button")).toBeEnabled();
    await user.click(sign);
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });
});

describe("signer keys from the keyserver", () => {
  test("an unknown signer's key is fetched for one check, then imported on request", async () => {
    const { backend, user, pane } = await openSignatures(BUSYBOX);
    // Busybox verifies like the mixed sample until Erin's key is fetched or imported.
    backend.handlers.image_verify = (args) => {
      if (backend.state.keys.some((k) => k.fingerprint === ERIN_FP)) return importedView();
      return args.fetchMissing ? fetchedView() : mixedView();
    };
    await user.click(within(pane).getByTestId("verify-button"));
    await within(pane).findByTestId("verify-summary");
    expect(backend.callsOf("image_verify")).toEqual([{ path: BUSYBOX, fetchMissing: false }]);

    // Only the unknown signer's card offers to fetch its key.
    const cards = within(pane).getAllByTestId("signature-card");
    expect(cards.map((c) => within(c).queryByTestId("fetch-key-button") !== null)).toEqual([false, true, false]);
    expect(within(pane).queryByTestId("import-fetched-key-button")).not.toBeInTheDocument();

    let release: (() => void) | undefined;
    const verify = backend.handlers.image_verify;
    backend.handlers.image_verify = (args) =>
      args.fetchMissing ? new Promise((resolve) => (release = () => resolve(verify(args)))) : verify(args);
    await user.click(within(cards[1]).getByTestId("fetch-key-button"));
    expect(await within(pane).findByTestId("key-action-progress")).toHaveTextContent(
      "Fetching the key from the keyserver…",
    );
    // The result stays in view while the key is fetched; Verify waits.
    expect(within(pane).getAllByTestId("signature-card")).toHaveLength(3);
    expect(within(pane).getByTestId("verify-button")).toBeDisabled();
    release?.();

    await waitFor(() =>
      expect(within(pane).getAllByTestId("signature-card")[1]).toHaveAttribute("data-key-source", "keyserver"),
    );
    expect(backend.callsOf("image_verify").at(-1)).toEqual({ path: BUSYBOX, fetchMissing: true });
    const fetched = within(pane).getAllByTestId("signature-card")[1];
    expect(fetched).toHaveAttribute("data-state", "valid");
    expect(fetched).toHaveTextContent("Erin Packager <erin@example.net>");
    expect(within(fetched).getByTestId("signature-key-source")).toHaveTextContent(
      "Keyserver (fetched for this check, not imported)",
    );
    expect(within(fetched).queryByTestId("fetch-key-button")).not.toBeInTheDocument();
    const importButton = within(fetched).getByTestId("import-fetched-key-button");
    expect(importButton).toHaveTextContent("Import this key");
    await waitFor(() => expect(importButton).toHaveFocus());
    // Nothing was imported by the check.
    expect(backend.callsOf("keyserver_pull")).toHaveLength(0);
    expect(backend.state.keys.some((k) => k.fingerprint === ERIN_FP)).toBe(false);

    const before = backend.calls.length;
    await user.click(importButton);
    await waitFor(() =>
      expect(within(pane).getAllByTestId("signature-card")[1]).toHaveAttribute("data-key-source", "local"),
    );
    const after = backend.calls.slice(before);
    expect(after.filter((c) => c.cmd === "keyserver_pull" || c.cmd === "image_verify")).toEqual([
      { cmd: "keyserver_pull", args: { fingerprint: ERIN_FP } },
      { cmd: "image_verify", args: { path: BUSYBOX, fetchMissing: false } },
    ]);
    const imported = within(pane).getAllByTestId("signature-card")[1];
    expect(within(imported).getByTestId("signature-key-source")).toHaveTextContent("Local keyring");
    expect(within(imported).queryByTestId("import-fetched-key-button")).not.toBeInTheDocument();
    // The keyrings were read again: the sidebar counts the new key.
    await waitFor(() => expect(screen.getByTestId("nav-keys")).toHaveTextContent("6"));
    expect(screen.getAllByTestId("toast").map((t) => t.textContent)).toContainEqual(
      expect.stringContaining("Imported Erin Packager <erin@example.net> into your keyring"),
    );
  });

  test("a signer whose key is not on the keyserver says so on its card", async () => {
    const { backend, user, pane } = await openSignatures(BUSYBOX, {
      verify: () => mixedView(),
      handlers: {
        image_verify: (args) => {
          if (args.fetchMissing) throw { code: "keyserver.not_found", message: "no matching keys found", hint: null };
          return mixedView();
        },
      },
    });
    await user.click(within(pane).getByTestId("verify-button"));
    await within(pane).findByTestId("verify-summary");
    const card = within(pane).getAllByTestId("signature-card")[1];
    await user.click(within(card).getByTestId("fetch-key-button"));
    const error = await within(card).findByTestId("key-action-error");
    expect(error).toHaveTextContent("Could not fetch the signer's key");
    expect(error).toHaveTextContent("No key with this fingerprint on the keyserver");
    expect(error).toHaveAttribute("data-code", "keyserver.not_found");
    // The verdict is still there, and the card can try again.
    expect(within(pane).getAllByTestId("signature-card")).toHaveLength(3);
    expect(within(card).getByTestId("fetch-key-button")).toBeEnabled();
    expect(backend.callsOf("image_verify")).toEqual([
      { path: BUSYBOX, fetchMissing: false },
      { path: BUSYBOX, fetchMissing: true },
    ]);
    // Verify again clears it.
    await user.click(within(pane).getByTestId("verify-button"));
    await within(pane).findByTestId("verify-summary");
    expect(within(pane).queryByTestId("key-action-error")).not.toBeInTheDocument();
  });

  test("an unreachable keyserver while fetching names what to check", async () => {
    const { user, pane } = await openSignatures(BUSYBOX, {
      handlers: {
        image_verify: (args) => {
          if (args.fetchMissing) {
            throw { code: "keyserver.unreachable", message: "cannot reach keyserver https://keys.openpgp.org", hint: null };
          }
          return mixedView();
        },
      },
    });
    await user.click(within(pane).getByTestId("verify-button"));
    await within(pane).findByTestId("verify-summary");
    await user.click(within(pane).getByTestId("fetch-key-button"));
    const error = await within(pane).findByTestId("key-action-error");
    expect(error).toHaveTextContent("cannot reach keyserver https://keys.openpgp.org");
    expect(error).toHaveTextContent("Check the address or your network.");
  });
});
