# imapmigrate: `make test` is what CI runs (.ci/run); `make bench` measures.
GO        ?= go
FUZZTIME  ?= 20s

.PHONY: all build test unit fuzz bench deps vet

all: build

build:
	$(GO) build -o bin/imapmigrate ./cmd/imapmigrate

deps:
	./scripts/install-deps.sh

vet:
	$(GO) vet ./...

# Everything: unit tests and real-server tests (Dovecot, installed when
# missing) under the race detector, then a bounded fuzzing run of every
# parser of outside input.
test: deps vet
	$(GO) test -race -count=1 -timeout 12m ./...
	$(MAKE) fuzz

fuzz:
	@for target in $$(grep -rl --include='*_test.go' '^func Fuzz' internal | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$target/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "fuzz $$target $$f ($(FUZZTIME))"; \
	    $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) ./$$target || exit 1; \
	  done; \
	done

bench: deps build
	$(GO) run ./internal/bench/cmd/imapbench
