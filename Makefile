# Berth — the two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
CARGO_FEATURES := --features berth-app/custom-protocol
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
APP := $(abspath $(TARGET_DIR)/debug/berth-app)
BERTH := $(abspath $(TARGET_DIR)/debug/berth)

.PHONY: run demo test setup-run setup-test ui app cli lint rust-test ui-test e2e bindings bench clean

run: setup-run ui app
	$(APP)

# Berth connected to a seeded local library (Berth's Library API double), in a throw-away
# config and keychain.
demo: setup-test ui app
	scripts/demo.sh

test: setup-test ui
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets $(CARGO_FEATURES) --locked -- -D warnings
	$(MAKE) rust-test ui-test app e2e

setup-run:
	@scripts/setup.sh run

setup-test:
	@scripts/setup.sh test

ui:
	npm --prefix ui run build

# One feature set for build, clippy and test, so cargo never rebuilds Tauri twice.
app:
	cargo build --workspace $(CARGO_FEATURES) --locked

rust-test:
	cargo test --workspace $(CARGO_FEATURES) --locked

ui-test:
	npm --prefix ui run check
	npm --prefix ui run lint
	npm --prefix ui test

# The app keeps tokens in the system keychain: the suite runs in a private D-Bus session
# with a throw-away, unlocked gnome-keyring.
e2e:
	cd e2e && BERTH_APP="$(APP)" sh ../crates/core/tests/with-keyring.sh node --test --test-concurrency=1

bindings:
	cargo run -q -p berth-cli -- dev bindings ui/src/lib/bindings

bench:
	bench/inspect.sh
	bench/signing.sh
	bench/transfer.sh
	bench/convert.sh

clean:
	cargo clean
	rm -rf ui/dist ui/node_modules e2e/node_modules e2e/screenshots
