import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, test } from "vitest";
import App from "./App.svelte";
import { fakeBackend } from "./test/backend";
import {
  GOOD_TOKEN,
  REGISTRY_PASSWORD,
  sampleCandidates,
  sampleCatalog,
  sampleRegistryLogins,
  sampleRemotes,
} from "./test/fixtures";

type Options = Parameters<typeof fakeBackend>[0];

async function openRemotes(options: Options = {}) {
  const backend = fakeBackend({ catalog: sampleCatalog(), remotes: sampleRemotes(), ...options });
  const user = userEvent.setup();
  render(App);
  await screen.findByTestId("app-ready");
  await user.click(screen.getByTestId("nav-remotes"));
  return { backend, user };
}

function toastTexts(): string[] {
  return screen.queryAllByTestId("toast").map((t) => t.textContent ?? "");
}

function row(name: string): HTMLElement {
  const found = screen.getAllByTestId("remote-row").find((r) => r.getAttribute("data-name") === name);
  if (!found) throw new Error(`no row for ${name}`);
  return found;
}

describe("remotes page", () => {
  test("lists the remotes with their default, insecure and login state", async () => {
    await openRemotes();
    await waitFor(() => expect(screen.getAllByTestId("remote-row")).toHaveLength(2));
    const cloud = row("SylabsCloud");
    expect(cloud).toHaveTextContent("https://cloud.sylabs.io");
    expect(cloud.querySelector('[data-badge="default"]')).not.toBeNull();
    expect(within(cloud).getByTestId("remote-login-state")).toHaveTextContent("Logged in");
    const site = row("site");
    expect(site.querySelector('[data-badge="insecure"]')).not.toBeNull();
    expect(site.querySelector('[data-badge="default"]')).toBeNull();
    expect(within(site).getByTestId("remote-login-state")).toHaveTextContent("Not logged in");
    expect(within(site).queryByTestId("remote-logout-button")).not.toBeInTheDocument();
  });

  test("adds a remote with the fields the person filled in", async () => {
    const { backend, user } = await openRemotes();
    await user.click(await screen.findByTestId("add-remote-button"));
    await user.type(screen.getByTestId("remote-name"), "hpc");
    await user.type(screen.getByTestId("remote-uri"), "library.hpc.example");
    await user.click(screen.getByTestId("remote-insecure"));
    expect(screen.getByTestId("remote-insecure-warning")).toHaveTextContent(/unencrypted/);
    await user.type(screen.getByTestId("remote-proxy"), "http://proxy:3128");
    await user.click(screen.getByTestId("remote-default"));
    await user.click(screen.getByTestId("remote-add-submit"));

    await waitFor(() => expect(screen.queryByTestId("add-remote-dialog")).not.toBeInTheDocument());
    expect(backend.callsOf("remotes_add")).toEqual([
      {
        request: {
          name: "hpc",
          uri: "library.hpc.example",
          insecureHttp: true,
          caFile: null,
          proxy: "http://proxy:3128",
          makeDefault: true,
        },
      },
    ]);
    await waitFor(() => expect(row("hpc").querySelector('[data-badge="default"]')).not.toBeNull());
    expect(row("SylabsCloud").querySelector('[data-badge="default"]')).toBeNull();
  });

  test("a refused address keeps the dialog open with the reason", async () => {
    const { user } = await openRemotes();
    await user.click(await screen.findByTestId("add-remote-button"));
    await user.type(screen.getByTestId("remote-name"), "sylabscloud");
    await user.type(screen.getByTestId("remote-uri"), "cloud.sylabs.io");
    await user.click(screen.getByTestId("remote-add-submit"));
    expect(await screen.findByTestId("add-remote-error")).toHaveTextContent("already exists");
    expect(screen.getByTestId("add-remote-dialog")).toBeInTheDocument();
  });

  test("the status panel shows each service, the token state and the user", async () => {
    const { backend, user } = await openRemotes();
    await waitFor(() => row("SylabsCloud"));
    await user.click(within(row("SylabsCloud")).getByTestId("remote-status-button"));
    const panel = await within(row("SylabsCloud")).findByTestId("remote-status-panel");
    await waitFor(() => expect(within(panel).getAllByTestId("service-row")).toHaveLength(3));
    const services = within(panel).getAllByTestId("service-row");
    expect(services[0]).toHaveTextContent("library");
    expect(services[0]).toHaveTextContent("https://cloud.sylabs.io/library");
    expect(services[0]).toHaveTextContent("2.1.0");
    expect(services[2]).toHaveAttribute("data-ok", "false");
    expect(services[2]).toHaveTextContent("The keyserver did not answer.");
    expect(within(panel).getByTestId("remote-token-state")).toHaveAttribute("data-state", "valid");
    expect(within(panel).getByTestId("remote-user")).toHaveTextContent("ana");
    expect(backend.callsOf("remote_status")).toEqual([{ name: "SylabsCloud" }]);
  });

  test("logging in sends the token once, clears the field and never shows it again", async () => {
    const { backend, user } = await openRemotes();
    await waitFor(() => row("site"));
    await user.click(within(row("site")).getByTestId("remote-login-button"));
    const dialog = await screen.findByTestId("login-dialog");
    // The token page comes from the remote's status.
    expect(await within(dialog).findByText("Generate a token at http://library.site.example/auth/tokens")).toBeInTheDocument();
    const field = screen.getByTestId("login-token");
    expect(field).toHaveAttribute("type", "password");
    await user.type(field, GOOD_TOKEN);
    await user.click(screen.getByTestId("login-submit"));

    await waitFor(() => expect(screen.queryByTestId("login-dialog")).not.toBeInTheDocument());
    expect(backend.callsOf("remote_login")).toEqual([{ name: "site", token: GOOD_TOKEN }]);
    await waitFor(() => expect(within(row("site")).getByTestId("remote-login-state")).toHaveTextContent("Logged in"));
    expect(document.body.innerHTML).not.toContain(GOOD_TOKEN);
    for (const input of Array.from(document.querySelectorAll("input"))) expect(input.value).not.toBe(GOOD_TOKEN);

    // Opening the dialog again starts empty.
    await user.click(within(row("site")).getByTestId("remote-login-button"));
    expect(screen.getByTestId("login-token")).toHaveValue("");
  });

  test("a refused token keeps the dialog open, says so and stores nothing", async () => {
    const { backend, user } = await openRemotes();
    await waitFor(() => row("site"));
    await user.click(within(row("site")).getByTestId("remote-login-button"));
    await user.type(screen.getByTestId("login-token"), "wrong-token");
    await user.click(screen.getByTestId("login-submit"));
    expect(await screen.findByTestId("login-refused")).toHaveTextContent("The remote refused this token");
    expect(screen.getByTestId("login-dialog")).toBeInTheDocument();
    expect(screen.getByTestId("login-token")).toHaveValue("");
    expect(document.body.innerHTML).not.toContain("wrong-token");
    expect(backend.state.tokens.has("site")).toBe(false);
    expect(within(row("site")).getByTestId("remote-login-state")).toHaveTextContent("Not logged in");
  });

  test("log out, make default and remove (after a confirm naming the remote)", async () => {
    const { backend, user } = await openRemotes();
    await waitFor(() => row("SylabsCloud"));
    await user.click(within(row("SylabsCloud")).getByTestId("remote-logout-button"));
    await waitFor(() =>
      expect(within(row("SylabsCloud")).getByTestId("remote-login-state")).toHaveTextContent("Not logged in"),
    );
    expect(backend.callsOf("remote_logout")).toEqual([{ name: "SylabsCloud" }]);

    await user.click(within(row("site")).getByTestId("remote-default-button"));
    await waitFor(() => expect(row("site").querySelector('[data-badge="default"]')).not.toBeNull());
    expect(backend.callsOf("remotes_use")).toEqual([{ name: "site" }]);

    await user.click(within(row("site")).getByTestId("remote-remove-button"));
    expect(screen.getByTestId("confirm-dialog")).toHaveTextContent("Remove the remote site?");
    await user.click(document.getElementById("confirm-ok")!);
    await waitFor(() => expect(screen.getAllByTestId("remote-row")).toHaveLength(1));
    expect(backend.callsOf("remotes_remove")).toEqual([{ name: "site" }]);
  });

  test("imports remotes from Apptainer: conflicts and problems cannot be chosen", async () => {
    const { backend, user } = await openRemotes({ importCandidates: sampleCandidates() });
    await user.click(await screen.findByTestId("import-remotes-button"));
    const dialog = await screen.findByTestId("import-remotes-dialog");
    await waitFor(() => expect(within(dialog).getAllByTestId("import-candidate")).toHaveLength(4));
    const [hpc, lab, cloud, bad] = within(dialog).getAllByTestId("import-candidate");
    expect(hpc).toHaveTextContent("library.hpc.example");
    expect(hpc).toHaveTextContent("/home/ana/.apptainer/remote.yaml");
    expect(hpc.querySelector('[data-badge="has-token"]')).not.toBeNull();
    expect(within(hpc).getByRole("checkbox")).toBeChecked();
    expect(within(cloud).getByRole("checkbox")).toBeDisabled();
    expect(within(cloud).getByTestId("import-conflict")).toHaveTextContent("already exists");
    expect(within(bad).getByRole("checkbox")).toBeDisabled();
    expect(within(bad).getByTestId("import-problem")).toHaveTextContent("not a valid remote name");
    expect(within(dialog).getByTestId("import-move-tokens")).toBeChecked();

    await user.click(within(lab).getByRole("checkbox"));
    await user.click(within(dialog).getByTestId("import-submit"));
    const report = await within(dialog).findByTestId("import-report");
    expect(backend.callsOf("remotes_import")).toEqual([{ names: ["hpc"], moveTokens: true }]);
    expect(report).toHaveTextContent("Imported 1 remote");
    expect(report).toHaveTextContent("Token in keychain");
    await user.click(within(dialog).getByTestId("import-close"));
    await waitFor(() => expect(row("hpc")).toBeInTheDocument());
    expect(within(row("hpc")).getByTestId("remote-login-state")).toHaveTextContent("Logged in");
  });
});

describe("registry logins", () => {
  function login(host: string, source = "berth"): HTMLElement {
    const found = screen
      .getAllByTestId("registry-row")
      .find((r) => r.dataset.host === host && r.dataset.source === source);
    if (!found) throw new Error(`no ${source} login for ${host}`);
    return found;
  }

  function passwordNowhere() {
    expect(document.body.innerHTML).not.toContain(REGISTRY_PASSWORD);
    for (const input of Array.from(document.querySelectorAll("input"))) expect(input.value).not.toBe(REGISTRY_PASSWORD);
  }

  test("lists Berth's logins with Remove, and Docker's config.json ones read only with their note", async () => {
    const { backend } = await openRemotes({ registryLogins: sampleRegistryLogins() });
    const section = await screen.findByTestId("registries-section");
    expect(within(section).getByRole("heading", { name: "Registry logins" })).toBeInTheDocument();
    await waitFor(() => expect(within(section).getAllByTestId("registry-row")).toHaveLength(3));
    expect(backend.callsOf("registries_list")).toEqual([{}]);

    const ghcr = login("ghcr.io");
    expect(within(ghcr).getByTestId("registry-user")).toHaveTextContent("as ana");
    expect(ghcr.querySelector('[data-badge="berth"]')).toHaveTextContent("In your keychain");
    expect(within(ghcr).getByTestId("registry-remove-button")).toBeEnabled();

    const hub = login("docker.io", "docker-config");
    expect(within(hub).getByTestId("registry-user")).toHaveTextContent("as ana-docker");
    expect(hub.querySelector('[data-badge="docker-config"]')).toHaveTextContent("from Docker's config.json");
    expect(within(hub).queryByTestId("registry-remove-button")).not.toBeInTheDocument();
    expect(within(hub).queryByTestId("registry-note")).not.toBeInTheDocument();

    const helper = login("registry.example.com", "docker-config");
    expect(within(helper).getByTestId("registry-user")).toHaveTextContent("username not known");
    expect(within(helper).getByTestId("registry-note")).toHaveTextContent("managed by docker-credential-desktop, not read");
    expect(within(helper).queryByTestId("registry-remove-button")).not.toBeInTheDocument();
  });

  test("without logins, says public images need none", async () => {
    await openRemotes();
    expect(await screen.findByTestId("registries-empty")).toHaveTextContent(
      "No registry logins — public images need none; add one for a private registry.",
    );
  });

  test("adding a login sends it once, then the password is gone from the page", async () => {
    const { backend, user } = await openRemotes();
    await screen.findByTestId("registries-empty");
    await user.click(screen.getByTestId("add-registry-login-button"));
    const dialog = await screen.findByTestId("registry-login-dialog");
    expect(screen.getByTestId("registry-host")).toHaveFocus();
    const field = screen.getByTestId("registry-password");
    expect(field).toHaveAttribute("type", "password");
    await user.type(screen.getByTestId("registry-host"), " 127.0.0.1:5000 ");
    await user.type(screen.getByTestId("registry-username"), "ana");
    await user.type(field, REGISTRY_PASSWORD);
    await user.click(within(dialog).getByTestId("registry-login-submit"));

    await waitFor(() => expect(screen.queryByTestId("registry-login-dialog")).not.toBeInTheDocument());
    expect(backend.callsOf("registry_login")).toEqual([{ host: "127.0.0.1:5000", username: "ana", password: REGISTRY_PASSWORD }]);
    expect(backend.state.registryPasswords.get("127.0.0.1:5000")).toBe(REGISTRY_PASSWORD);
    expect(within(login("127.0.0.1:5000")).getByTestId("registry-user")).toHaveTextContent("as ana");
    expect(screen.queryByTestId("registries-empty")).not.toBeInTheDocument();
    await waitFor(() => expect(within(login("127.0.0.1:5000")).getByTestId("registry-remove-button")).toHaveFocus());
    expect(toastTexts()).toContainEqual(expect.stringContaining("Added the login for 127.0.0.1:5000"));
    passwordNowhere();

    // Opening the dialog again starts empty.
    await user.click(screen.getByTestId("add-registry-login-button"));
    expect(screen.getByTestId("registry-password")).toHaveValue("");
    expect(screen.getByTestId("registry-host")).toHaveValue("");
  });

  test("every field is needed; nothing is sent until they are filled", async () => {
    const { backend, user } = await openRemotes();
    await user.click(await screen.findByTestId("add-registry-login-button"));
    const dialog = await screen.findByTestId("registry-login-dialog");
    await user.click(within(dialog).getByTestId("registry-login-submit"));
    expect(dialog).toHaveTextContent("Enter the registry's host, like ghcr.io.");
    expect(dialog).toHaveTextContent("Enter your username at the registry.");
    expect(dialog).toHaveTextContent("Enter the password or an access token.");
    expect(screen.getByTestId("registry-host")).toHaveFocus();
    await user.type(screen.getByTestId("registry-host"), "ghcr.io");
    await user.type(screen.getByTestId("registry-username"), "   ");
    await user.keyboard("{Enter}");
    expect(screen.getByTestId("registry-username")).toHaveFocus();
    expect(backend.callsOf("registry_login")).toHaveLength(0);
  });

  test("a refused login keeps the dialog open with the reason and the hint, the password cleared", async () => {
    const { backend, user } = await openRemotes();
    await user.click(await screen.findByTestId("add-registry-login-button"));
    await user.type(screen.getByTestId("registry-host"), "https://ghcr.io/lab");
    await user.type(screen.getByTestId("registry-username"), "ana");
    await user.type(screen.getByTestId("registry-password"), REGISTRY_PASSWORD);
    await user.click(screen.getByTestId("registry-login-submit"));

    const error = await screen.findByTestId("registry-login-error");
    expect(error).toHaveAttribute("data-code", "registry.invalid_host");
    expect(within(error).getByTestId("error-text")).toHaveTextContent("https://ghcr.io/lab: not a registry host");
    expect(within(error).getByTestId("error-hint")).toHaveTextContent("Write the host only, like ghcr.io or 127.0.0.1:5000");
    expect(screen.getByTestId("registry-login-dialog")).toBeInTheDocument();
    expect(screen.getByTestId("registry-host")).toHaveValue("https://ghcr.io/lab");
    expect(screen.getByTestId("registry-password")).toHaveValue("");
    expect(screen.getByTestId("registry-host")).toHaveFocus();
    expect(backend.state.registryLogins).toEqual([]);
    passwordNowhere();
  });

  test("a keychain that cannot be used is said with what to do", async () => {
    const { user } = await openRemotes({
      handlers: {
        registry_login: () => {
          throw {
            code: "keychain.unavailable",
            message: "The system keychain is not available.",
            hint: "Unlock your keychain (or start a Secret Service), then try again.",
          };
        },
      },
    });
    await user.click(await screen.findByTestId("add-registry-login-button"));
    await user.type(screen.getByTestId("registry-host"), "ghcr.io");
    await user.type(screen.getByTestId("registry-username"), "ana");
    await user.type(screen.getByTestId("registry-password"), `${REGISTRY_PASSWORD}{Enter}`);
    const error = await screen.findByTestId("registry-login-error");
    expect(error).toHaveTextContent("Berth could not add the login");
    expect(error).toHaveTextContent("Unlock your keychain");
    expect(screen.getByTestId("registry-password")).toHaveFocus();
    passwordNowhere();
  });

  test("removing Berth's login asks once, naming the host", async () => {
    const { backend, user } = await openRemotes({ registryLogins: sampleRegistryLogins() });
    await waitFor(() => login("ghcr.io"));
    await user.click(within(login("ghcr.io")).getByTestId("registry-remove-button"));
    const confirm = screen.getByTestId("confirm-dialog");
    expect(confirm).toHaveTextContent("Remove the login for ghcr.io?");
    expect(confirm).toHaveTextContent("Berth deletes the password of ana from your system keychain.");

    // Cancel first: nothing happens.
    await user.keyboard("{Escape}");
    expect(backend.callsOf("registry_logout")).toHaveLength(0);
    expect(within(login("ghcr.io")).getByTestId("registry-remove-button")).toHaveFocus();

    await user.click(within(login("ghcr.io")).getByTestId("registry-remove-button"));
    await user.click(within(screen.getByTestId("confirm-dialog")).getByRole("button", { name: "Remove login" }));
    await waitFor(() => expect(screen.getAllByTestId("registry-row")).toHaveLength(2));
    expect(backend.callsOf("registry_logout")).toEqual([{ host: "ghcr.io" }]);
    expect(screen.getAllByTestId("registry-row").every((r) => r.dataset.source === "docker-config")).toBe(true);
    expect(toastTexts()).toContainEqual(expect.stringContaining("Removed the login for ghcr.io"));
  });

  test("a list that cannot be read says why, with a way to try again", async () => {
    let fail = true;
    const { backend, user } = await openRemotes({
      handlers: {
        registries_list: () => {
          if (fail) throw { code: "io.read", message: "Could not read Docker's config.json.", hint: "Check its permissions." };
          return sampleRegistryLogins();
        },
      },
    });
    const error = await screen.findByTestId("registries-error");
    expect(error).toHaveTextContent("Could not read your registry logins");
    expect(within(error).getByTestId("error-hint")).toHaveTextContent("Check its permissions.");
    fail = false;
    await user.click(within(error).getByRole("button", { name: "Try again" }));
    await waitFor(() => expect(screen.getAllByTestId("registry-row")).toHaveLength(3));
    expect(backend.callsOf("registries_list")).toHaveLength(2);
  });
});
