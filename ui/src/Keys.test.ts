import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "./App.svelte";
import { fakeBackend } from "./test/backend";
import { ANA_FP, BOB_FP, CI_FP, emptyCatalog, OLD_FP, sampleCatalog, sampleKeys, SITE_FP } from "./test/fixtures";

type Options = Parameters<typeof fakeBackend>[0];

async function openKeys(options: Options = {}) {
  const backend = fakeBackend({ catalog: sampleCatalog(), keys: sampleKeys(), ...options });
  const user = userEvent.setup();
  render(App);
  await screen.findByTestId("app-ready");
  await user.click(screen.getByTestId("nav-keys"));
  return { backend, user };
}

function keyRow(fingerprint: string): HTMLElement {
  const row = screen
    .getAllByTestId("key-row")
    .find((r) => r.getAttribute("data-fingerprint") === fingerprint);
  if (!row) throw new Error(`no row for ${fingerprint}`);
  return row;
}

function badges(row: HTMLElement): (string | null)[] {
  return Array.from(row.querySelectorAll("[data-badge]")).map((b) => b.getAttribute("data-badge"));
}

test("the Keys page names the keyring folder the backend uses", async () => {
  await openKeys();
  await waitFor(() => expect(screen.getByTestId("keys-location")).toHaveTextContent("/home/ada/.apptainer/keys"));
});

describe("keys page", () => {
  test("the sidebar counts the keys and the page lists them with their badges", async () => {
    const { backend } = await openKeys();
    expect(screen.getByTestId("nav-keys")).toHaveTextContent(/^Keys\s*5$/);
    expect(screen.getByTestId("nav-keys")).toHaveAttribute("aria-current", "page");
    expect(screen.getByTestId("nav-local-images")).not.toHaveAttribute("aria-current");
    const table = await screen.findByTestId("keys-table");
    expect(table).toHaveAttribute("id", "keys-table");
    // Local keys first, the read-only global keyring last.
    expect(screen.getAllByTestId("key-row").map((r) => r.getAttribute("data-fingerprint"))).toEqual([
      ANA_FP,
      BOB_FP,
      CI_FP,
      OLD_FP,
      SITE_FP,
    ]);

    const ana = keyRow(ANA_FP);
    expect(ana).toHaveTextContent("Ana Example <ana@example.org>");
    expect(within(ana).getByTestId("key-fingerprint")).toHaveTextContent(
      "1137 E72E 6816 BFC0 6D9C AA0D 15F3 F4F4 F14B 03B2",
    );
    expect(within(ana).getByText("+1")).toBeInTheDocument();
    expect(ana).toHaveTextContent("RSA 4096");
    expect(within(ana).getByRole("button", { name: "Copy fingerprint" })).toBeInTheDocument();
    expect(badges(ana)).toEqual(["secret", "passphrase", "can-sign"]);

    expect(badges(keyRow(BOB_FP))).toEqual([]);
    expect(badges(keyRow(CI_FP))).toEqual(["secret", "can-sign"]);
    expect(badges(keyRow(OLD_FP))).toEqual(["expired"]);
    expect(badges(keyRow(SITE_FP))).toEqual(["global"]);
    expect(within(keyRow(SITE_FP)).getByText("Global")).toBeInTheDocument();
    // Global keys are read-only: they can be exported, not removed.
    expect(within(keyRow(SITE_FP)).queryByTestId("remove-key-button")).not.toBeInTheDocument();
    expect(within(keyRow(SITE_FP)).getByTestId("export-key-button")).toBeInTheDocument();
    expect(within(keyRow(BOB_FP)).getByTestId("remove-key-button")).toBeInTheDocument();
    expect(screen.getByTestId("keys-summary")).toHaveTextContent("5 keys · 2 you can sign with");
    // The page reads the keyrings again when it opens.
    expect(backend.callsOf("keys_list").length).toBeGreaterThanOrEqual(2);
  });

  test("a revoked key says so", async () => {
    await openKeys({ keys: [sampleKeys()[1]].map((k) => ({ ...k, revoked: true })) });
    expect(badges(await waitFor(() => keyRow(BOB_FP)))).toEqual(["revoked"]);
  });

  test("without keys the page teaches what to do", async () => {
    await openKeys({ catalog: emptyCatalog(), keys: [] });
    const empty = await screen.findByTestId("keys-empty");
    expect(empty).toHaveTextContent(
      "No keys yet — create a key pair to sign images, or import a key file (drop it here).",
    );
    expect(screen.queryByTestId("keys-table")).not.toBeInTheDocument();
    expect(screen.getByTestId("nav-keys")).toHaveTextContent("0");
  });

  test("when the keyrings cannot be read, the Keys page shows why and the images still work", async () => {
    let fail = true;
    const err = {
      code: "key.keyring_corrupt",
      message: "Your public keyring cannot be read.",
      hint: "Move ~/.apptainer/keys/pgp-public aside and import your keys again.",
    };
    const backend = fakeBackend({
      catalog: sampleCatalog(),
      keys: sampleKeys(),
      handlers: {
        keys_list: () => {
          if (fail) throw err;
          return backend.state.keys;
        },
      },
    });
    const user = userEvent.setup();
    render(App);
    // Local images loads as always, without a word about keys.
    await screen.findByTestId("image-table");
    await screen.findByTestId("app-ready");
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
    expect(screen.getByTestId("nav-keys")).not.toHaveTextContent(/\d/);

    await user.click(screen.getByTestId("nav-keys"));
    const error = await screen.findByTestId("keys-error");
    expect(error).toHaveTextContent("Could not read your keyrings");
    expect(error).toHaveTextContent(err.message);
    expect(error).toHaveTextContent(err.hint);
    expect(error).toHaveAttribute("data-code", "key.keyring_corrupt");

    fail = false;
    await user.click(within(error).getByRole("button", { name: "Try again" }));
    expect(await screen.findByTestId("keys-table")).toBeInTheDocument();

    await user.click(screen.getByTestId("nav-local-images"));
    expect(screen.getByTestId("image-table")).toBeVisible();
    expect(screen.queryByTestId("keys-table")).not.toBeInTheDocument();
  });

  test("the sidebar is reachable from the keyboard", async () => {
    const { user } = await openKeys();
    const images = document.getElementById("nav-images") as HTMLElement;
    images.focus();
    await user.keyboard("{Enter}");
    expect(images).toHaveAttribute("aria-current", "page");
    await user.tab();
    expect(document.getElementById("nav-keys")).toHaveFocus();
    await user.keyboard("{Enter}");
    expect(await screen.findByTestId("keys-table")).toBeInTheDocument();
  });
});

describe("new key pair", () => {
  test("sends exactly what was typed to keys_generate and shows the new key", async () => {
    let release: (() => void) | undefined;
    const { backend, user } = await openKeys({ keys: [] });
    const generate = backend.defaults.keys_generate;
    backend.handlers.keys_generate = (args) =>
      new Promise((resolve) => (release = () => resolve(generate(args))));

    await user.click(await screen.findByTestId("new-key-button"));
    const dialog = await screen.findByRole("dialog", { name: "New key pair" });
    expect(screen.getByTestId("new-key-name")).toHaveFocus();
    expect(screen.getByTestId("new-key-algorithm")).toHaveValue("rsa4096");
    expect(screen.getByTestId("new-key-passphrase")).toHaveAttribute("type", "password");
    expect(screen.getByTestId("new-key-passphrase2")).toHaveAttribute("type", "password");

    await user.type(screen.getByTestId("new-key-name"), " Ana Example ");
    await user.type(screen.getByTestId("new-key-email"), "ana@example.org");
    await user.type(screen.getByTestId("new-key-comment"), "laptop");
    await user.type(screen.getByTestId("new-key-passphrase"), "correct horse");
    await user.type(screen.getByTestId("new-key-passphrase2"), "correct horse");
    expect(dialog).toHaveTextContent("Ana Example (laptop) <ana@example.org>");
    await user.click(screen.getByTestId("new-key-create"));

    await waitFor(() =>
      expect(backend.callsOf("keys_generate")).toEqual([
        {
          request: {
            name: "Ana Example",
            email: "ana@example.org",
            comment: "laptop",
            passphrase: "correct horse",
            algorithm: "rsa4096",
          },
        },
      ]),
    );
    // RSA 4096 takes a while: the dialog says so and waits.
    expect(screen.getByTestId("new-key-progress")).toHaveTextContent(
      "Generating a 4096-bit RSA key can take a while",
    );
    expect(screen.getByTestId("new-key-create")).toBeDisabled();
    // The passphrase is gone from the form as soon as it was handed over.
    expect(screen.getByTestId("new-key-passphrase")).toHaveValue("");
    expect(screen.getByTestId("new-key-passphrase2")).toHaveValue("");

    release?.();
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    const rows = await screen.findAllByTestId("key-row");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toHaveTextContent("Ana Example (laptop) <ana@example.org>");
    expect(badges(rows[0])).toEqual(["secret", "passphrase", "can-sign"]);
    expect(screen.getByTestId("nav-keys")).toHaveTextContent("1");
    expect(screen.getByTestId("toast")).toHaveTextContent("Created Ana Example (laptop) <ana@example.org>");
  });

  test("other algorithms, and no passphrase, are sent as chosen", async () => {
    const { backend, user } = await openKeys({ keys: [] });
    await user.click(await screen.findByTestId("new-key-button"));
    await user.type(screen.getByTestId("new-key-name"), "CI");
    await user.type(screen.getByTestId("new-key-email"), "ci@example.org");
    await user.selectOptions(screen.getByTestId("new-key-algorithm"), "ed25519");
    // Enter in a field submits the form.
    await user.type(screen.getByTestId("new-key-email"), "{Enter}");
    await waitFor(() =>
      expect(backend.callsOf("keys_generate")).toEqual([
        { request: { name: "CI", email: "ci@example.org", comment: "", passphrase: null, algorithm: "ed25519" } },
      ]),
    );
  });

  test("name and e-mail are required, and the passphrases must match", async () => {
    const { backend, user } = await openKeys({ keys: [] });
    await user.click(await screen.findByTestId("new-key-button"));
    await user.click(screen.getByTestId("new-key-create"));
    const dialog = screen.getByRole("dialog");
    expect(dialog).toHaveTextContent("Enter a name.");
    expect(dialog).toHaveTextContent("Enter an e-mail address.");
    expect(screen.getByTestId("new-key-name")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByTestId("new-key-name")).toHaveFocus();

    await user.type(screen.getByTestId("new-key-name"), "Ana");
    await user.type(screen.getByTestId("new-key-email"), "not-an-address");
    await user.click(screen.getByTestId("new-key-create"));
    expect(dialog).toHaveTextContent("This does not look like an e-mail address.");

    await user.clear(screen.getByTestId("new-key-email"));
    await user.type(screen.getByTestId("new-key-email"), "ana@example.org");
    await user.type(screen.getByTestId("new-key-passphrase"), "one");
    await user.type(screen.getByTestId("new-key-passphrase2"), "two");
    await user.click(screen.getByTestId("new-key-create"));
    expect(screen.getByTestId("new-key-mismatch")).toHaveTextContent("The passphrases do not match.");
    expect(screen.getByTestId("new-key-passphrase2")).toHaveFocus();
    expect(backend.callsOf("keys_generate")).toHaveLength(0);

    // Escape closes the dialog; nothing was made.
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(backend.callsOf("keys_generate")).toHaveLength(0);
  });

  test("a failure is shown in the dialog, which stays open", async () => {
    const { user } = await openKeys({
      keys: [],
      handlers: {
        keys_generate: () => {
          throw { code: "key.keyring_corrupt", message: "The secret keyring cannot be written.", hint: "Check the permissions of ~/.apptainer/keys." };
        },
      },
    });
    await user.click(await screen.findByTestId("new-key-button"));
    await user.type(screen.getByTestId("new-key-name"), "Ana");
    await user.type(screen.getByTestId("new-key-email"), "ana@example.org");
    await user.click(screen.getByTestId("new-key-create"));
    const error = await screen.findByTestId("new-key-error");
    expect(error).toHaveTextContent("The secret keyring cannot be written.");
    expect(screen.getByRole("dialog")).toBeInTheDocument();
    expect(screen.getByTestId("new-key-name")).toHaveValue("Ana");
  });
});

describe("import, export and remove", () => {
  test("Import… picks a key file and imports it", async () => {
    const { backend, user } = await openKeys({
      keys: [],
      handlers: { "plugin:dialog|open": () => "/home/ana/bob.asc" },
    });
    await user.click(await screen.findByTestId("import-key-button"));
    await waitFor(() => expect(backend.callsOf("plugin:dialog|open")).toHaveLength(1));
    expect(backend.callsOf("plugin:dialog|open")[0].options).toMatchObject({
      multiple: false,
      filters: [{ name: "OpenPGP keys", extensions: ["asc", "gpg", "pgp", "key"] }],
    });
    const dialog = await screen.findByRole("dialog", { name: "Import bob.asc" });
    // The new-passphrase fields only appear when asked for.
    expect(screen.queryByTestId("import-passphrase")).not.toBeInTheDocument();
    await user.click(within(dialog).getByTestId("import-confirm"));
    await waitFor(() =>
      expect(backend.callsOf("keys_import")).toEqual([{ path: "/home/ana/bob.asc", newPassphrase: null }]),
    );
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(await screen.findByTestId("key-row")).toHaveTextContent("bob <bob@example.org>");
    expect(screen.getByTestId("toast")).toHaveTextContent("Imported bob <bob@example.org>");
  });

  test("an import can re-encrypt secret keys with a new passphrase", async () => {
    const { backend, user } = await openKeys({
      keys: [],
      handlers: { "plugin:dialog|open": () => "/home/ana/secret.gpg" },
    });
    await user.click(await screen.findByTestId("import-key-button"));
    await screen.findByRole("dialog");
    await user.click(screen.getByTestId("import-reencrypt"));
    await user.type(screen.getByTestId("import-passphrase"), "new secret");
    await user.type(screen.getByTestId("import-passphrase2"), "new secrets");
    await user.click(screen.getByTestId("import-confirm"));
    expect(screen.getByRole("dialog")).toHaveTextContent("The passphrases do not match.");
    expect(backend.callsOf("keys_import")).toHaveLength(0);
    await user.type(screen.getByTestId("import-passphrase2"), "{Backspace}");
    await user.click(screen.getByTestId("import-confirm"));
    await waitFor(() =>
      expect(backend.callsOf("keys_import")).toEqual([{ path: "/home/ana/secret.gpg", newPassphrase: "new secret" }]),
    );
  });

  test("cancelling the picker imports nothing", async () => {
    const { backend, user } = await openKeys();
    await user.click(await screen.findByTestId("import-key-button"));
    await waitFor(() => expect(backend.callsOf("plugin:dialog|open")).toHaveLength(1));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(backend.callsOf("keys_import")).toHaveLength(0);
  });

  test("a dropped key file is imported; other files are not", async () => {
    const { backend } = await openKeys({ keys: [] });
    await screen.findByTestId("keys-empty");
    await backend.drag("enter", ["/home/ana/Downloads/carol.asc"]);
    expect(await screen.findByTestId("drop-overlay")).toHaveTextContent("Drop to import keys");
    await backend.drag("drop", ["/home/ana/Downloads/carol.asc", "/home/ana/images/x.sif"]);
    await waitFor(() =>
      expect(backend.callsOf("keys_import")).toEqual([{ path: "/home/ana/Downloads/carol.asc", newPassphrase: null }]),
    );
    expect(screen.queryByTestId("drop-overlay")).not.toBeInTheDocument();
    expect(await screen.findByTestId("key-row")).toHaveTextContent("carol");
    // The SIF was neither imported as a key nor added to Local images from here.
    expect(backend.callsOf("catalog_add_paths")).toHaveLength(0);
    expect(screen.getAllByTestId("toast").map((t) => t.textContent)).toContainEqual(
      expect.stringContaining("Only OpenPGP key files"),
    );
  });

  test("Export… asks what and how, then where, and exports there", async () => {
    const { backend, user } = await openKeys({
      handlers: { "plugin:dialog|save": () => "/home/ana/ana-secret.gpg" },
    });
    await user.click(within(keyRow(ANA_FP)).getByTestId("export-key-button"));
    const dialog = await screen.findByRole("dialog", { name: "Export Ana Example <ana@example.org>" });
    expect(screen.getByTestId("export-public")).toBeChecked();
    expect(screen.getByTestId("export-armor")).toBeChecked();
    await user.click(screen.getByTestId("export-secret"));
    await user.click(screen.getByTestId("export-binary"));
    await user.click(within(dialog).getByTestId("export-confirm"));

    await waitFor(() => expect(backend.callsOf("keys_export")).toHaveLength(1));
    expect(backend.callsOf("plugin:dialog|save")[0].options).toMatchObject({ defaultPath: `${ANA_FP}.gpg` });
    expect(backend.callsOf("keys_export")).toEqual([
      { fingerprint: ANA_FP, secret: true, armor: false, path: "/home/ana/ana-secret.gpg" },
    ]);
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(screen.getByTestId("toast")).toHaveTextContent("Exported the secret key to /home/ana/ana-secret.gpg");
  });

  test("a public export defaults to <fingerprint>.asc, armored; a public-only key offers no secret", async () => {
    const { backend, user } = await openKeys({
      handlers: { "plugin:dialog|save": () => "/tmp/bob.asc" },
    });
    await user.click(within(keyRow(BOB_FP)).getByTestId("export-key-button"));
    await screen.findByRole("dialog");
    expect(screen.queryByTestId("export-secret")).not.toBeInTheDocument();
    await user.click(screen.getByTestId("export-confirm"));
    await waitFor(() =>
      expect(backend.callsOf("keys_export")).toEqual([
        { fingerprint: BOB_FP, secret: false, armor: true, path: "/tmp/bob.asc" },
      ]),
    );
    expect(backend.callsOf("plugin:dialog|save")[0].options).toMatchObject({ defaultPath: `${BOB_FP}.asc` });
  });

  test("cancelling the save dialog keeps the export dialog open and exports nothing", async () => {
    const { backend, user } = await openKeys();
    await user.click(within(keyRow(BOB_FP)).getByTestId("export-key-button"));
    await user.click(await screen.findByTestId("export-confirm"));
    await waitFor(() => expect(backend.callsOf("plugin:dialog|save")).toHaveLength(1));
    expect(screen.getByRole("dialog")).toBeInTheDocument();
    expect(backend.callsOf("keys_export")).toHaveLength(0);
  });

  test("Remove… names the key, warns about the secret, and removes it on confirm", async () => {
    const { backend, user } = await openKeys();
    await user.click(within(keyRow(CI_FP)).getByTestId("remove-key-button"));
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog).toHaveTextContent("Remove CI Robot (nightly builds) <ci@example.org>?");
    expect(dialog).toHaveTextContent("5E6F 7A8B 9C0D 1E2F 3A4B 5C6D 7E8F 9A0B 1C2D 3E4F");
    expect(dialog).toHaveTextContent("A secret key cannot be recovered");

    await user.click(document.getElementById("confirm-ok") as HTMLButtonElement);
    await waitFor(() => expect(backend.callsOf("keys_remove")).toEqual([{ fingerprint: CI_FP }]));
    await waitFor(() => expect(screen.getAllByTestId("key-row")).toHaveLength(4));
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
    expect(screen.getByTestId("nav-keys")).toHaveTextContent("4");
  });

  test("cancelling Remove… keeps the key", async () => {
    const { backend, user } = await openKeys();
    await user.click(within(keyRow(BOB_FP)).getByTestId("remove-key-button"));
    await screen.findByRole("alertdialog");
    await user.click(document.getElementById("confirm-cancel") as HTMLButtonElement);
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
    expect(backend.callsOf("keys_remove")).toHaveLength(0);
    expect(screen.getAllByTestId("key-row")).toHaveLength(5);
    await waitFor(() => expect(within(keyRow(BOB_FP)).getByTestId("remove-key-button")).toHaveFocus());
  });
});

test("after a visit to Keys, drops on Local images add images again", async () => {
  const backend = fakeBackend({ catalog: emptyCatalog(), keys: [] });
  const user = userEvent.setup();
  render(App);
  await screen.findByTestId("app-ready");
  await user.click(screen.getByTestId("nav-keys"));
  await screen.findByTestId("keys-empty");
  await user.click(screen.getByTestId("nav-local-images"));
  await backend.drag("enter", ["/drop/a.sif"]);
  expect(await screen.findByTestId("drop-overlay")).toHaveTextContent("Drop to push or add to Local images");
  await backend.drag("drop", ["/drop/a.sif"]);
  // One SIF: the window asks whether to push it or add it.
  await user.click(await screen.findByTestId("drop-add"));
  await waitFor(() => expect(backend.callsOf("catalog_add_paths")).toEqual([{ paths: ["/drop/a.sif"] }]));
  expect(backend.callsOf("keys_import")).toHaveLength(0);
});
