# Enclave build. `make` builds everything, `make check` runs every test,
# `make check-asan` runs them under ASan+UBSan, `make check-vm` runs a set
# of them in a VM on Debian's own kernel, `make fuzz` builds the
# libFuzzer targets and `make fuzz-run` runs them, `make check-werror`
# builds with -Werror, `make soak` is the long leak test, `make install`
# honours PREFIX and DESTDIR.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/enclave
UNITDIR ?= /etc/systemd/system
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d
APPARMORDIR ?= /etc/apparmor.d
BUILD ?= build
VERSION := 0.1.0

CC ?= cc
PKGS := sqlite3 jansson libseccomp libmnl libnftables libarchive libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARNINGS := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wformat=2 \
	-Wno-unused-parameter -Wno-missing-field-initializers
# _FORTIFY_SOURCE as Debian builds it, so its checks and warnings are ours too.
CFLAGS ?= -O2 -g -D_FORTIFY_SOURCE=2
BASE_CFLAGS := -std=gnu17 $(WARNINGS) -fstack-protector-strong -D_GNU_SOURCE \
	-DENCLAVE_VERSION='"$(VERSION)"' -DENCLAVE_LIBEXECDIR='"$(LIBEXECDIR)"' \
	-DENCLAVE_APPARMORDIR='"$(APPARMORDIR)"' -Isrc
ALL_CFLAGS := $(BASE_CFLAGS) $(PKG_CFLAGS) $(CFLAGS)
LDLIBS := $(PKG_LIBS) -lpthread

MODULES := base spec proto config auth registry engine daemon runtime net storage cli
# The programs (src/programs/) sit above every layer and are not in the library.
MAINS := src/programs/enclave.c src/programs/enclave-daemon.c
LIB_SRC := $(foreach m,$(MODULES),$(wildcard src/$(m)/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
INIT_SRC := $(wildcard src/init/*.c)
UNIT_SRC := $(wildcard tests/unit/test-*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(wildcard tools/*.c)
TOOL_BIN := $(TOOL_SRC:tools/%.c=$(BUILD)/%)
ITEST_SRC := $(wildcard tests/integration/itest-*.c)
ITEST_BIN := $(ITEST_SRC:tests/integration/%.c=$(BUILD)/tests/%)
HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPER_BIN := $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/tests/helpers/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz-*.c)

# The packages come first: a fresh machine gets them (as root) or a list
# of what is missing, never a compiler error about a missing header. The
# build itself runs in a second make, so pkg-config sees what was just
# installed.
all: deps
	@$(MAKE) --no-print-directory build-all

deps:
	@./scripts/install-deps.sh --if-missing

build-all: $(BUILD)/enclave $(BUILD)/enclave-daemon $(BUILD)/enclave-init $(TOOL_BIN) $(UNIT_BIN) $(ITEST_BIN) $(HELPER_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libenclave.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# The CLI links only what its commands use (--as-needed), so every
# command starts fast; `enclave daemon run` execs enclave-daemon, which
# carries the daemon and all of its libraries.
$(BUILD)/enclave: $(BUILD)/obj/src/programs/enclave.o $(BUILD)/libenclave.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -Wl,--as-needed $(LDLIBS)

$(BUILD)/enclave-daemon: $(BUILD)/obj/src/programs/enclave-daemon.o $(BUILD)/libenclave.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The workspace init is static and sanitizer-free: it runs as pid 1
# inside a root filesystem that may lack a matching libc.
$(BUILD)/enclave-init: $(INIT_SRC)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu17 $(WARNINGS) -O2 -g -D_GNU_SOURCE -Isrc -static -o $@ $(INIT_SRC)

$(BUILD)/%: tools/%.c $(BUILD)/libenclave.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/test.h $(BUILD)/libenclave.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libenclave.a $(LDLIBS)

# Root integration tests written in C, against the real kernel.
$(BUILD)/tests/itest-%: tests/integration/itest-%.c tests/unit/test.h $(BUILD)/libenclave.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libenclave.a $(LDLIBS)

# Probes that run inside workspaces: static, so any rootfs can run them.
$(BUILD)/tests/helpers/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu17 $(WARNINGS) -O2 -D_GNU_SOURCE -static -o $@ $<

check: all
	BUILD=$(BUILD) ./tests/run.sh

check-asan:
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		LDFLAGS="-fsanitize=address,undefined" check

# The same tests inside a Debian 12 VM booting Debian's own kernel (6.1:
# pure cgroup v2, AppArmor); see tests/vm/README.md. ENCLAVE_VM_KERNEL
# picks another suite's kernel, ENCLAVE_VM_TESTS=all runs every suite.
check-vm: all
	BUILD=$(BUILD) ./tests/vm/check.sh

FUZZ_BUILD := build-fuzz
FUZZ_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer
fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang CFLAGS="$(FUZZ_FLAGS) -fsanitize=fuzzer-no-link" $(FUZZ_BUILD)/libenclave.a
	@for f in $(FUZZ_SRC); do \
		n=$$(basename $$f .c); \
		echo "  FUZZ $$n"; \
		clang $(BASE_CFLAGS) $(PKG_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $(FUZZ_BUILD)/$$n $$f \
			$(FUZZ_BUILD)/libenclave.a $(LDLIBS) || exit 1; \
	done

# Every fuzz target for FUZZ_SECONDS from its committed seed corpus
# (tests/fuzz/corpus/<target>/); CI runs this.
FUZZ_SECONDS ?= 60
fuzz-run: fuzz
	./tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The whole build with warnings as errors (CI), in a tree of its own.
check-werror:
	@if $(MAKE) BUILD=build-werror CFLAGS="-O2 -g -Werror" build-all; then echo "1 passed, 0 failed"; \
	else echo "0 passed, 1 failed"; exit 1; fi

# 1000 create/start/exec/stop/destroy cycles from 4 clients at once,
# with the daemon's and the host's resource counts before and after
# (docs/performance.md, "Soak"). Not part of check: it takes minutes.
SOAK_CYCLES ?= 1000
SOAK_CLIENTS ?= 4
soak: all
	BUILD=$(BUILD) ./tests/soak.sh $(SOAK_CYCLES) $(SOAK_CLIENTS)

# The man pages (enclave(1) and one page per command group) and
# docs/commands.md come from the CLI's own command tables; the
# completion scripts ask the CLI (`enclave __complete`) at run time.
man: $(BUILD)/enclave
	@rm -rf $(BUILD)/man && mkdir -p $(BUILD)/man
	@for p in $$($(BUILD)/enclave __gen man); do \
		$(BUILD)/enclave __gen man $$p > $(BUILD)/man/$$p.1 || exit 1; \
	done
	@echo "  MAN $(BUILD)/man/*.1"

docs: $(BUILD)/enclave
	$(BUILD)/enclave __gen markdown > docs/commands.md
	$(BUILD)/enclave __gen limits > docs/limits.md

completions:
	@mkdir -p $(BUILD)/completions
	bash -n completions/enclave.bash
	cp completions/enclave.bash completions/_enclave completions/enclave.fish $(BUILD)/completions/

install: $(BUILD)/enclave $(BUILD)/enclave-daemon $(BUILD)/enclave-init man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 0755 $(BUILD)/enclave $(DESTDIR)$(BINDIR)/enclave
	install -m 0755 $(BUILD)/enclave-daemon $(DESTDIR)$(LIBEXECDIR)/enclave-daemon
	install -m 0755 $(BUILD)/enclave-init $(DESTDIR)$(LIBEXECDIR)/enclave-init
	sed 's|@BINDIR@|$(BINDIR)|g' scripts/enclave.service.in > $(DESTDIR)$(UNITDIR)/enclave.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/enclave.service
	install -m 0644 $(BUILD)/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 completions/enclave.bash $(DESTDIR)$(BASHCOMPDIR)/enclave
	install -m 0644 completions/_enclave $(DESTDIR)$(ZSHCOMPDIR)/_enclave
	install -m 0644 completions/enclave.fish $(DESTDIR)$(FISHCOMPDIR)/enclave.fish
	install -d $(DESTDIR)$(APPARMORDIR)
	install -m 0644 data/apparmor/enclave-workspace $(DESTDIR)$(APPARMORDIR)/enclave-workspace
	@# Loaded now where AppArmor runs (the host loads it at boot too).
	@if [ -z "$(DESTDIR)" ] && [ "$$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] && \
		command -v apparmor_parser >/dev/null; then \
		apparmor_parser --replace $(APPARMORDIR)/enclave-workspace; fi

# A Debian package (pkg/deb/build.sh): built apart, for /usr, with
# Debian's hardening flags, into ./enclave_$(VERSION)_<arch>.deb.
DEB_BUILD := build-deb
deb: deps
	$(MAKE) --no-print-directory BUILD=$(DEB_BUILD) PREFIX=/usr LIBEXECDIR=/usr/libexec/enclave \
		CFLAGS="$$(dpkg-buildflags --get CFLAGS) $$(dpkg-buildflags --get CPPFLAGS)" \
		LDFLAGS="$$(dpkg-buildflags --get LDFLAGS) -Wl,-z,now" \
		$(DEB_BUILD)/enclave $(DEB_BUILD)/enclave-daemon $(DEB_BUILD)/enclave-init
	pkg/deb/build.sh $(DEB_BUILD) $(VERSION) .

# Install the package into a scratch bookworm tree (own namespaces),
# run enclave doctor and a workspace there, purge it (root).
deb-test: deb
	pkg/deb/test-install.sh enclave_$(VERSION)_$$(dpkg --print-architecture).deb

# Fresh machine: dependencies, build, install, bring up the quickstart.
up: all
	$(MAKE) install
	cd examples/quickstart && $(BINDIR)/enclave up

clean:
	rm -rf build build-asan build-fuzz build-werror $(DEB_BUILD)

.PHONY: all deps build-all check check-asan check-vm fuzz fuzz-run check-werror soak man docs completions install deb deb-test up clean
-include $(LIB_OBJ:.o=.d) $(MAINS:%.c=$(BUILD)/obj/%.d)
