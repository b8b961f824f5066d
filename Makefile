# caseverify: two commands on a fresh machine.
#   make run   start the portal (sandbox: SQLite file, provider emulators, outbox)
#   make test  install what the tests need and run every test
GO ?= go
export CGO_ENABLED := 1

.PHONY: run build test test-deps pg-deps check-generated check-templ-fmt generate fmt vet lint bench bench-micro fuzz vendor clean

run: ## build and start the portal; prints the URL and the sign-in
	$(GO) run ./web

build: ## a binary in bin/
	$(GO) build -trimpath -o bin/caseverify ./web

test: test-deps check-generated check-templ-fmt vet lint ## every test, with the race detector, on both engines
	$(GO) test -race -count=1 -timeout 12m ./...
	$(if $(strip $(PG_TEST_PACKAGES)),CASEVERIFY_TEST_POSTGRES=1 $(GO) test -race -count=1 -timeout 20m $(PG_TEST_PACKAGES))
	$(if $(strip $(PG_TEST_WEB)),CASEVERIFY_TEST_POSTGRES=1 $(GO) test -race -count=1 -timeout 12m -run '$(PG_TEST_WEB)' ./web/)

# The second pass of `make test` (issue 18): the suites that touch the
# database again on PostgreSQL. Each test binary starts its own throwaway
# cluster (store/pgtest); one `go test` runs the packages side by side.
# Empty skips the pass (`make test PG_TEST_PACKAGES=`). The web suite's
# own tests use SQLite files; only its PostgreSQL tests (the two-replica
# browser test, migrate-to-postgres) run again, by name.
PG_TEST_PACKAGES ?= ./store/pgtest/ ./store/ ./handlers/ ./handlers/verify/
PG_TEST_WEB ?= Postgres

# Development tools the portal does not import live in their own module,
# .tools/go.mod (mailpit, staticcheck, nilness), so their dependencies stay out
# of the portal's go.mod; templ stays in go.mod because the generated code
# imports its runtime. `go -C .tools tool -n X` builds X once and prints its path.
TOOL = $$($(GO) -C .tools tool -n $(1))

# What the tests need that a fresh machine may lack: Debian's Chromium for the
# browser tests, Debian's PostgreSQL server for the PostgreSQL pass (only
# its binaries: store/pgtest runs its own cluster, so the package's main
# cluster is not created on a machine that had no PostgreSQL), and the
# pinned Go tools (templ in go.mod; mailpit, staticcheck
# and nilness in .tools/go.mod), built once.
test-deps: pg-deps
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing chromium (Debian package) for the browser tests"; \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@$(GO) tool -n templ >/dev/null
	@$(GO) -C .tools tool -n mailpit >/dev/null
	@$(GO) -C .tools tool -n staticcheck >/dev/null
	@$(GO) -C .tools tool -n nilness >/dev/null

# Debian's PostgreSQL server binaries, for the PostgreSQL test pass and for
# make bench's PostgreSQL rows (store/pgtest runs its own throwaway cluster).
pg-deps:
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { \
		echo "installing postgresql (Debian package) for the PostgreSQL tests"; \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
		if [ ! -e /etc/postgresql-common ]; then \
			$$SUDO mkdir -p /etc/postgresql-common/createcluster.d && \
			echo "create_main_cluster = false" | $$SUDO tee /etc/postgresql-common/createcluster.d/caseverify-tests.conf >/dev/null; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }

# Generated templ code is committed; fail when regenerating changes it.
check-generated:
	@before=$$(find . -name '*_templ.go' -not -path './.git/*' | sort | xargs cat 2>/dev/null | sha256sum); \
	$(GO) tool templ generate >/dev/null; \
	after=$$(find . -name '*_templ.go' -not -path './.git/*' | sort | xargs cat 2>/dev/null | sha256sum); \
	if [ "$$before" != "$$after" ]; then echo "generated templ files were stale: regenerated them; commit the *_templ.go changes"; exit 1; fi

# templ fmt -fail rewrites what is not formatted and then fails, like
# check-generated: commit what it changed.
check-templ-fmt:
	@$(GO) tool templ fmt -fail views >/dev/null 2>&1 || { echo "views/*.templ were not templ-formatted: formatted them; commit the changes (and run make generate)"; exit 1; }

generate: ## regenerate templ code
	$(GO) tool templ generate

fmt:
	gofmt -w $$(git ls-files '*.go' | grep -v '_templ.go$$')
	$(GO) tool templ fmt views

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$'))" || { gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$'); echo "gofmt needed"; exit 1; }

# staticcheck with its default checks (exceptions are //lint:ignore lines
# that say why), then vet's nilness analyzer, which plain `go vet` leaves out.
lint: ## staticcheck and extra vet analyzers
	$(call TOOL,staticcheck) ./...
	$(GO) vet -vettool=$(call TOOL,nilness) ./...

# The goals of issues 17 and 18 against a running portal on SQLite and on a
# throwaway PostgreSQL, and a bare Echo server,
# printed as a table (README "Performance"). The first run builds the
# 100k-member data set (cached in the user cache folder).
bench: pg-deps ## the performance goals table on SQLite and PostgreSQL (timings live here, not in tests)
	$(GO) test -run '^$$' -bench '^BenchmarkGoals$$' -benchtime 1x -timeout 40m ./web/

bench-micro: ## the packages' micro-benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./...

# `make test` runs every fuzz target on its seed corpus; this explores beyond
# it, FUZZTIME per target (reliability.md F1-F3: 30s per PR, 10m nightly).
FUZZTIME ?= 30s
fuzz: ## fuzz every Fuzz target for FUZZTIME each
	@for pkg in $$($(GO) list ./...); do \
	  for fn in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$fn"; \
	    $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

vendor: ## refresh static/vendor from the pinned npm packages (needs npm)
	.ci/vendor-static.sh

clean:
	rm -rf bin data
