# imapmigrate: `make test` is what CI runs (.ci/run); `make bench` measures.
GO        ?= go
FUZZTIME  ?= 20s

.PHONY: all build test unit fuzz bench deps vet screenshots

all: build

build:
	$(GO) build -o bin/imapmigrate ./cmd/imapmigrate

deps:
	./scripts/install-deps.sh

vet:
	$(GO) vet ./...

# Everything: unit tests and real-server tests (Dovecot, Cyrus and Courier,
# installed when missing) under the race detector. Each fuzz target runs its
# seed corpus and every failure found so far (testdata/fuzz) as a test: a
# deterministic run. Exploring new inputs is `make fuzz`, which can find a
# new bug on any run and so is not part of the test promise.
test: deps vet
	$(GO) test -race -count=1 -timeout 20m ./...

# Explore every fuzz target for FUZZTIME; a failing input is written to the
# target's testdata/fuzz, where `make test` runs it from then on.
fuzz:
	@for target in $$(grep -rl --include='*_test.go' '^func Fuzz' internal | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$target/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "fuzz $$target $$f ($(FUZZTIME))"; \
	    $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) ./$$target || exit 1; \
	  done; \
	done

bench: deps build
	$(GO) run ./internal/bench/cmd/imapbench

# Take the dashboard's screenshots again (docs/screenshots/*.png), from the
# browser test (chromium).
screenshots:
	IMAPMIGRATE_SCREENSHOTS=1 $(GO) test ./internal/web/ -run TestBrowser -count=1
