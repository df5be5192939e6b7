import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "./App.svelte";
import { fakeBackend } from "./test/backend";
import {
  ANA_FP,
  BOB_FP,
  CAROL_FP,
  CAROL_OLD_FP,
  CI_FP,
  DEV_FP,
  KEYSERVER,
  sampleCatalog,
  sampleKeys,
  SITE_FP,
} from "./test/fixtures";

type Options = Parameters<typeof fakeBackend>[0];

async function openKeys(options: Options = {}) {
  const backend = fakeBackend({ catalog: sampleCatalog(), keys: sampleKeys(), ...options });
  const user = userEvent.setup();
  render(App);
  await screen.findByTestId("app-ready");
  await user.click(screen.getByTestId("nav-keys"));
  await screen.findByTestId("keys-table");
  return { backend, user };
}

async function searchFor(user: ReturnType<typeof userEvent.setup>, query: string) {
  const input = screen.getByTestId("keyserver-search-input");
  await user.clear(input);
  await user.type(input, query);
  await user.click(screen.getByTestId("keyserver-search-button"));
}

function hitRow(fingerprint: string): HTMLElement {
  const row = screen
    .getAllByTestId("keyserver-hit")
    .find((r) => r.getAttribute("data-fingerprint") === fingerprint);
  if (!row) throw new Error(`no hit for ${fingerprint}`);
  return row;
}

function keyRow(fingerprint: string): HTMLElement {
  const row = screen.getAllByTestId("key-row").find((r) => r.getAttribute("data-fingerprint") === fingerprint);
  if (!row) throw new Error(`no row for ${fingerprint}`);
  return row;
}

describe("keyserver search", () => {
  test("the section shows the configured keyserver and teaches what to search for", async () => {
    await openKeys();
    const section = screen.getByTestId("keyserver-section");
    expect(within(section).getByRole("heading", { name: "Keyserver" })).toBeInTheDocument();
    expect(within(section).getByTestId("keyserver-urls")).toHaveTextContent(KEYSERVER);
    expect(within(section).getByTestId("keyserver-idle")).toHaveTextContent("Search by name, e-mail address, or fingerprint");
    expect(screen.getByTestId("keyserver-search-input")).toHaveAttribute("id", "keyserver-search-input");
  });

  test("a search lists the hits; Pull imports the key and reads the keyrings again", async () => {
    let release: (() => void) | undefined;
    const { backend, user } = await openKeys();
    const search = backend.defaults.keyserver_search;
    backend.handlers.keyserver_search = (args) => new Promise((resolve) => (release = () => resolve(search(args))));

    await searchFor(user, "carol");
    expect(await screen.findByTestId("keyserver-searching")).toHaveTextContent(`Searching ${KEYSERVER} for “carol”…`);
    expect(screen.getByTestId("keyserver-search-button")).toBeDisabled();
    release?.();

    const table = await screen.findByTestId("keyserver-results");
    expect(table).toHaveAttribute("id", "keyserver-results");
    expect(backend.callsOf("keyserver_search")).toEqual([{ query: "carol" }]);
    expect(screen.getAllByTestId("keyserver-hit").map((r) => r.getAttribute("data-fingerprint"))).toEqual([
      CAROL_FP,
      CAROL_OLD_FP,
    ]);
    const carol = hitRow(CAROL_FP);
    // Every user id, the grouped fingerprint with a copy button, algorithm and size, date.
    expect(within(carol).getAllByTestId("hit-user-id").map((u) => u.textContent?.trim())).toEqual([
      "Carol Researcher <carol@uni.example.edu>",
      "Carol R. (containers) <carol@hpc.example.edu>",
    ]);
    expect(within(carol).getByTestId("hit-fingerprint")).toHaveTextContent("C4A2 011E 5B6D 7E8F 90A1 B2C3 D4E5 F607 1829 3A4B");
    expect(within(carol).getByRole("button", { name: "Copy fingerprint" })).toBeInTheDocument();
    expect(carol).toHaveTextContent("RSA 4096");
    expect(carol).toHaveTextContent("2024-04-05");
    expect(carol.querySelectorAll("[data-badge]")).toHaveLength(0);
    expect(hitRow(CAROL_OLD_FP).querySelector("[data-badge]")).toHaveAttribute("data-badge", "revoked");
    expect(hitRow(CAROL_OLD_FP)).toHaveTextContent("RSA 2048");

    const listsBefore = backend.callsOf("keys_list").length;
    await user.click(within(carol).getByTestId("pull-key-button"));
    await waitFor(() => expect(backend.callsOf("keyserver_pull")).toEqual([{ fingerprint: CAROL_FP }]));
    await waitFor(() => expect(backend.callsOf("keys_list").length).toBe(listsBefore + 1));
    const order = backend.calls.map((c) => c.cmd);
    expect(order.lastIndexOf("keys_list")).toBeGreaterThan(order.indexOf("keyserver_pull"));

    // The key is in the table above, and the hit says it is here now.
    await waitFor(() => expect(keyRow(CAROL_FP)).toHaveTextContent("Carol Researcher <carol@uni.example.edu>"));
    expect(screen.getByTestId("nav-keys")).toHaveTextContent("6");
    const pull = within(hitRow(CAROL_FP)).getByTestId("pull-key-button");
    expect(pull).toBeDisabled();
    expect(pull).toHaveTextContent("In your keyring");
    expect(screen.getByTestId("toast")).toHaveTextContent("Pulled Carol Researcher <carol@uni.example.edu> into your keyring");
  });

  test("a key already in the keyring cannot be pulled again", async () => {
    const { backend, user } = await openKeys();
    await searchFor(user, ANA_FP);
    await screen.findByTestId("keyserver-results");
    const pull = within(hitRow(ANA_FP)).getByTestId("pull-key-button");
    expect(pull).toBeDisabled();
    expect(pull).toHaveTextContent("In your keyring");
    await user.click(pull);
    expect(backend.callsOf("keyserver_pull")).toHaveLength(0);
  });

  test("Enter in the field searches; an expired key says so", async () => {
    const { backend, user } = await openKeys();
    await user.type(screen.getByTestId("keyserver-search-input"), "dev@lab{Enter}");
    await screen.findByTestId("keyserver-results");
    expect(backend.callsOf("keyserver_search")).toEqual([{ query: "dev@lab" }]);
    expect(hitRow(DEV_FP).querySelector("[data-badge]")).toHaveAttribute("data-badge", "expired");
    expect(hitRow(DEV_FP)).toHaveTextContent("EdDSA 256");
  });

  test("an empty field asks for something to search for", async () => {
    const { backend, user } = await openKeys();
    await user.click(screen.getByTestId("keyserver-search-button"));
    expect(screen.getByRole("alert")).toHaveTextContent("Type a name, e-mail address or fingerprint to search for.");
    expect(screen.getByTestId("keyserver-search-input")).toHaveFocus();
    expect(backend.callsOf("keyserver_search")).toHaveLength(0);
  });

  test("no match says so, naming the query and the server", async () => {
    const { user } = await openKeys();
    await searchFor(user, "nobody@nowhere");
    expect(await screen.findByTestId("keyserver-empty")).toHaveTextContent(
      `No keys match “nobody@nowhere” on ${KEYSERVER}`,
    );
    expect(screen.queryByTestId("keyserver-results")).not.toBeInTheDocument();
    expect(screen.queryByTestId("keyserver-error")).not.toBeInTheDocument();
  });

  test("an empty answer (not a 404) is no match too", async () => {
    const { user } = await openKeys({ handlers: { keyserver_search: () => [] } });
    await searchFor(user, "x");
    expect(await screen.findByTestId("keyserver-empty")).toHaveTextContent(`No keys match “x” on ${KEYSERVER}`);
  });

  test("an unreachable keyserver is shown in place, with what to do", async () => {
    let fail = true;
    const { backend, user } = await openKeys({
      keyservers: ["https://keys.example.invalid"],
      handlers: {
        keyserver_search: (args) => {
          if (fail) {
            throw {
              code: "keyserver.unreachable",
              message: "cannot reach keyserver https://keys.example.invalid: dns error",
              hint: null,
            };
          }
          return backend.defaults.keyserver_search(args);
        },
      },
    });
    await searchFor(user, "carol");
    const error = await screen.findByTestId("keyserver-error");
    expect(error).toHaveAttribute("data-code", "keyserver.unreachable");
    expect(error).toHaveTextContent("The keyserver search failed");
    expect(error).toHaveTextContent("https://keys.example.invalid");
    expect(within(error).getByTestId("error-hint")).toHaveTextContent("Check the address or your network.");
    expect(within(screen.getByTestId("keyserver-section")).getByRole("alert")).toBe(error);

    // Edit keyservers… leads to the list, Try again searches again.
    expect(within(error).getByRole("button", { name: "Edit keyservers…" })).toBeInTheDocument();
    fail = false;
    await user.click(within(error).getByRole("button", { name: "Try again" }));
    expect(await screen.findByTestId("keyserver-results")).toBeInTheDocument();
    expect(backend.callsOf("keyserver_search")).toHaveLength(2);
  });

  test("a failed pull is shown under the hit and can be tried again", async () => {
    let fail = true;
    const { backend, user } = await openKeys({
      handlers: {
        keyserver_pull: (args) => {
          if (fail) throw { code: "keyserver.not_found", message: "no matching keys found", hint: null };
          return backend.defaults.keyserver_pull(args);
        },
      },
    });
    await searchFor(user, "carol");
    await screen.findByTestId("keyserver-results");
    await user.click(within(hitRow(CAROL_FP)).getByTestId("pull-key-button"));
    const error = await screen.findByTestId("pull-error");
    expect(error).toHaveTextContent("Could not pull Carol Researcher <carol@uni.example.edu>");
    expect(error).toHaveTextContent("removed from the keyserver since the search");
    expect(screen.queryAllByTestId("key-row").map((r) => r.getAttribute("data-fingerprint"))).not.toContain(CAROL_FP);
    fail = false;
    await user.click(within(error).getByRole("button", { name: "Try again" }));
    await waitFor(() => expect(keyRow(CAROL_FP)).toBeInTheDocument());
    expect(screen.queryByTestId("pull-error")).not.toBeInTheDocument();
  });
});

describe("keyserver list", () => {
  test("Edit… saves one URL a line with settings_set_keyservers; an invalid URL is shown inline", async () => {
    const { backend, user } = await openKeys();
    await user.click(screen.getByTestId("keyservers-edit-button"));
    const input = screen.getByTestId("keyservers-input");
    expect(input).toHaveFocus();
    expect(input).toHaveValue(KEYSERVER);

    await user.clear(input);
    await user.type(input, "https://keys.openpgp.org{Enter}keyserver dot example{Enter}");
    await user.click(screen.getByTestId("keyservers-save"));
    const error = await screen.findByTestId("keyservers-error");
    expect(backend.callsOf("settings_set_keyservers")).toEqual([
      { keyservers: ["https://keys.openpgp.org", "keyserver dot example"] },
    ]);
    expect(error).toHaveAttribute("data-code", "keyserver.invalid_url");
    expect(error).toHaveTextContent("invalid keyserver URL: keyserver dot example");
    expect(error).toHaveTextContent("Use an address like https://keys.openpgp.org.");
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(input).toHaveFocus();
    // Nothing was saved: the list is as it was.
    expect(backend.state.keyservers).toEqual([KEYSERVER]);

    await user.clear(input);
    await user.type(input, "http://keys.example.org");
    await user.click(screen.getByTestId("keyservers-save"));
    await waitFor(() =>
      expect(screen.getByTestId("keyservers-error")).toHaveAttribute("data-code", "keyserver.insecure_url"),
    );

    await user.clear(input);
    await user.type(input, "  https://keyserver.ubuntu.com  {Enter}{Enter}http://localhost:11371");
    await user.click(screen.getByTestId("keyservers-save"));
    await waitFor(() => expect(screen.queryByTestId("keyservers-input")).not.toBeInTheDocument());
    expect(backend.callsOf("settings_set_keyservers").at(-1)).toEqual({
      keyservers: ["https://keyserver.ubuntu.com", "http://localhost:11371"],
    });
    const urls = screen.getByTestId("keyserver-urls");
    expect(within(urls).getAllByRole("listitem").map((li) => li.textContent)).toEqual([
      "https://keyserver.ubuntu.com",
      "http://localhost:11371",
    ]);
    expect(screen.getByTestId("keyservers-edit-button")).toHaveFocus();

    // Searches name the new servers.
    await searchFor(user, "nobody");
    expect(await screen.findByTestId("keyserver-empty")).toHaveTextContent(
      "No keys match “nobody” on https://keyserver.ubuntu.com or http://localhost:11371",
    );
  });

  test("an empty list is not saved; Escape leaves the list as it was", async () => {
    const { backend, user } = await openKeys();
    await user.click(screen.getByTestId("keyservers-edit-button"));
    await user.clear(screen.getByTestId("keyservers-input"));
    await user.click(screen.getByTestId("keyservers-save"));
    expect(screen.getByTestId("keyservers-error")).toHaveTextContent("Enter at least one keyserver URL.");
    expect(backend.callsOf("settings_set_keyservers")).toHaveLength(0);
    await user.keyboard("{Escape}");
    expect(screen.queryByTestId("keyservers-input")).not.toBeInTheDocument();
    expect(screen.getByTestId("keyserver-urls")).toHaveTextContent(KEYSERVER);
    expect(screen.getByTestId("keyservers-edit-button")).toHaveFocus();
    // Escape in the form did not leave the Keys page or close anything else.
    expect(screen.getByTestId("keys-table")).toBeInTheDocument();
  });
});

describe("publish", () => {
  test("Publish… asks first, then sends the fingerprint to keyserver_push and shows the answer", async () => {
    const { backend, user } = await openKeys();
    // Global keys are not published from here.
    expect(within(keyRow(SITE_FP)).queryByTestId("push-key-button")).not.toBeInTheDocument();

    await user.click(within(keyRow(CI_FP)).getByTestId("push-key-button"));
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog).toHaveTextContent(
      `Publish the PUBLIC key of CI Robot (nightly builds) <ci@example.org> to ${KEYSERVER}?`,
    );
    expect(dialog).toHaveTextContent("Anyone will be able to find it; this cannot be undone on most keyservers.");
    expect(dialog).toHaveTextContent("5E6F 7A8B 9C0D 1E2F 3A4B 5C6D 7E8F 9A0B 1C2D 3E4F");
    expect(dialog).toHaveTextContent("your secret key never leaves this computer");
    expect(backend.callsOf("keyserver_push")).toHaveLength(0);

    await user.click(document.getElementById("confirm-ok") as HTMLButtonElement);
    await waitFor(() => expect(backend.callsOf("keyserver_push")).toEqual([{ fingerprint: CI_FP }]));
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
    const toast = await screen.findByTestId("toast");
    expect(toast).toHaveTextContent(`Published CI Robot (nightly builds) <ci@example.org> to ${KEYSERVER}`);
    expect(toast).toHaveTextContent(`Key block in add request contained 1 key: ${CI_FP}`);
    await waitFor(() => expect(within(keyRow(CI_FP)).getByTestId("push-key-button")).toHaveFocus());
  });

  test("cancelling Publish… sends nothing", async () => {
    const { backend, user } = await openKeys();
    await user.click(within(keyRow(BOB_FP)).getByTestId("push-key-button"));
    await screen.findByRole("alertdialog");
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
    expect(backend.callsOf("keyserver_push")).toHaveLength(0);
    await waitFor(() => expect(within(keyRow(BOB_FP)).getByTestId("push-key-button")).toHaveFocus());
  });

  test("a refused upload is an error toast with what to do", async () => {
    const { user } = await openKeys({
      handlers: {
        keyserver_push: () => {
          throw { code: "keyserver.unauthorized", message: "keyserver requires an access token (401 Unauthorized)", hint: null };
        },
      },
    });
    await user.click(within(keyRow(ANA_FP)).getByTestId("push-key-button"));
    await user.click(document.getElementById("confirm-ok") as HTMLButtonElement);
    const toast = await screen.findByTestId("toast");
    expect(toast).toHaveTextContent("Could not publish Ana Example <ana@example.org>");
    expect(toast).toHaveTextContent("keyserver requires an access token");
    expect(toast).toHaveTextContent("This keyserver wants you to log in.");
  });
});
