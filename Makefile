# GenesysPay in C - top-level build.
#
#   make            build the library, every handler, the emulator, tools
#   make run        local sandbox: nginx + handlers + Twilio emulator
#   make run-live   the same against real Twilio (LIVE_ENV, your tunnel)
#   make test       every test suite; ends with "N passed, N failed"
#   make SANITIZE=address,undefined test    same, sanitized, in its own folder
#   make WERROR=1   warnings are errors (CI)
#   make format / format-check / lint
#
# Every binary depends on the library and its headers (suckless sbase
# style): touching lib/ rebuilds what links it.

.SUFFIXES:
SHELL := /bin/bash

CC ?= cc
SANITIZE ?=
WERROR ?=
# A sanitized build goes into its own folder so objects never mix
# (redis src/Makefile does the same).
ifeq ($(SANITIZE),thread)
# ThreadSanitizer cannot share objects with ASan either: its own folder.
B ?= build-tsan
endif
ifneq ($(SANITIZE),)
B ?= build-san
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT ?= -O1
else
B ?= build
SAN_FLAGS :=
OPT ?= -O2
endif

PKGS := libcjson libcurl
WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wold-style-definition -Wformat=2 -Wwrite-strings \
	-Wvla -Wpointer-arith -Wundef -Wcast-align -Wnull-dereference \
	-Wimplicit-fallthrough
ifneq ($(WERROR),)
WARN += -Werror
endif
CPPFLAGS += -D_GNU_SOURCE -Ilib $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS ?= $(OPT) -g
CFLAGS += -std=c11 -fPIC -fstack-protector-strong $(WARN) $(SAN_FLAGS)
ifeq ($(SANITIZE),)
CPPFLAGS += -D_FORTIFY_SOURCE=2
endif
LDFLAGS += $(SAN_FLAGS) -Wl,-z,relro,-z,now
LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lcjson -lcurl) -lfcgi -lcrypto -lcrypt

LIB_SRC := $(sort $(wildcard lib/*.c))
LIB_HDR := $(wildcard lib/*.h)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
LIB_SO := $(B)/lib/libtwiliopay.so
LIB_A := $(B)/lib/libtwiliopay.a

CGI_SRC := $(sort $(wildcard cgi-bin/*.c))
CGI_BIN := $(CGI_SRC:cgi-bin/%.c=$(B)/cgi-bin/%)

TOOL_SRC := $(sort $(wildcard scripts/src/*.c))
TOOL_BIN := $(TOOL_SRC:scripts/src/%.c=$(B)/bin/%)

SIM_SRC := $(sort $(wildcard sim/*.c))
SIM_HDR := $(wildcard sim/*.h)
SIM_BIN := $(if $(SIM_SRC),$(B)/sim/twilio-sim)

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TEST_TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TEST_TOOL_BIN := $(TEST_TOOL_SRC:tests/tools/%.c=$(B)/tests/%)

# Binaries find libtwiliopay.so next to them: build/cgi-bin -> build/lib,
# and the installed tree keeps the same shape (see `make install`).
RPATH := -Wl,-rpath,'$$ORIGIN/../lib'

.PHONY: all lib cgi tools sim tests www run run-live test unit check-deps deps packages clean \
	format format-check lint bench fuzz valgrind install uninstall

all: lib cgi tools sim www

# System packages before the first compile: while make reads this file,
# before it runs any rule, scripts/install-deps checks the groups the goals
# need; as root it installs what is missing, otherwise it names the exact
# apt-get line and make stops here.  A missing header must never be the
# first thing a new user sees.  (A check at parse time, not an order-only
# prerequisite: a phony prerequisite would be "something to do" on every
# run, and `make` with nothing changed must do nothing.)  Goals that
# compile nothing skip it.
PKG_GROUPS := build
ifneq ($(filter test tests unit valgrind,$(MAKECMDGOALS)),)
PKG_GROUPS += test
endif
ifneq ($(filter run run-live bench,$(MAKECMDGOALS)),)
PKG_GROUPS += run
endif
ifneq ($(filter bench,$(MAKECMDGOALS)),)
PKG_GROUPS += bench
endif
PKG_FREE_GOALS := clean format format-check uninstall packages
ifneq ($(filter-out $(PKG_FREE_GOALS),$(or $(MAKECMDGOALS),all)),)
PKG_STATUS := $(shell scripts/install-deps $(PKG_GROUPS) >&2; echo $$?)
ifneq ($(PKG_STATUS),0)
$(error Debian packages are missing (above); nothing was compiled)
endif
endif
packages:
	@scripts/install-deps $(PKG_GROUPS)

lib: $(LIB_SO) $(LIB_A)
cgi: $(CGI_BIN)
tools: $(TOOL_BIN)
sim: $(SIM_BIN)
tests: $(UNIT_BIN) $(TEST_TOOL_BIN)

$(B)/lib/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB_SO): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libtwiliopay.so $(LDFLAGS) -o $@ $^ $(LIBS)

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/cgi-bin/%: cgi-bin/%.c $(LIB_SO) $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ $(LDFLAGS) -L$(B)/lib $(RPATH) -ltwiliopay $(LIBS)

$(B)/bin/%: scripts/src/%.c $(LIB_SO) $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ $(LDFLAGS) -L$(B)/lib $(RPATH) -ltwiliopay $(LIBS)

SIM_OBJ := $(SIM_SRC:%.c=$(B)/%.o)
$(B)/sim/%.o: sim/%.c $(SIM_HDR) $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(shell pkg-config --cflags libmicrohttpd 2>/dev/null) $(CFLAGS) -Isim -c $< -o $@

$(B)/sim/twilio-sim: $(SIM_OBJ) $(LIB_SO)
	$(CC) $(SIM_OBJ) -o $@ $(LDFLAGS) -L$(B)/lib $(RPATH) -ltwiliopay -lmicrohttpd -lpthread $(LIBS)
# tests/unit/test_simxml.c compiles sim/twiml.c in (sim/ is no library).
$(B)/tests/test_simxml: sim/twiml.c $(SIM_HDR)

# Unit tests link the static archive: they may reach file-internal
# helpers through lib/internal.h, and need no rpath.
$(B)/tests/test_%: tests/unit/test_%.c $(LIB_A) $(LIB_HDR) tests/unit/unit.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/unit $< -o $@ $(LDFLAGS) $(LIB_A) -lcmocka $(LIBS) -lpthread

$(B)/tests/%: tests/tools/%.c $(LIB_SO) $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ $(LDFLAGS) -L$(B)/lib $(RPATH) -ltwiliopay $(LIBS)

# The agent console (scripts/build-www): tsc (the one of the npm lock
# file) runs only when www/src, tsconfig.json or the lock file changed;
# hashing, gzip and publishing into $(B)/www only when the compiled
# modules, www/public or the build scripts changed.  The list of inputs is
# kept in $(B)/.www/inputs, rewritten when a file is added or removed, so
# that counts as a change too.
WWW_SRC := $(sort $(wildcard www/src/*.ts))
WWW_PUBLIC := $(sort $(wildcard www/public/*))
WWW_INPUTS := $(B)/.www/inputs
ifneq ($(file <$(WWW_INPUTS)),$(WWW_SRC) $(WWW_PUBLIC))
$(shell mkdir -p $(B)/.www)
$(file >$(WWW_INPUTS),$(WWW_SRC) $(WWW_PUBLIC))
endif

www: $(B)/www/index.html

$(B)/.www/js.stamp: $(WWW_SRC) www/tsconfig.json www/package-lock.json $(WWW_INPUTS)
	@scripts/build-www compile $(B)

$(B)/www/index.html: $(B)/.www/js.stamp $(WWW_PUBLIC) www/assemble.mjs scripts/build-www \
		$(WWW_INPUTS)
	@scripts/build-www assemble $(B)

deps:
	scripts/install-deps build run test

check-deps:
	@scripts/install-deps --check build

run: all
	scripts/run-sandbox $(B)

# The same stack without the emulator, against the Twilio account of
# LIVE_ENV (default .env) through your tunnel (README "Developing against
# real Twilio").
run-live: all
	scripts/run-live $(B)

test: all tests
	B=$(B) SANITIZE=$(SANITIZE) tests/run

unit: tests
	B=$(B) tests/run unit

bench: all
	scripts/bench $(B)

fuzz:
	scripts/fuzz

valgrind: tests
	B=$(B) tests/run --valgrind unit

FORMAT_SRC = $(wildcard lib/*.[ch] cgi-bin/*.c sim/*.[ch] scripts/src/*.c tests/unit/*.[ch] tests/tools/*.c tests/fuzz/*.c)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format: ok"
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--inline-suppr --suppress=missingIncludeSystem -Ilib lib/*.c
	clang-tidy --quiet lib/*.c -- $(CPPFLAGS) -std=c11

clean:
	rm -rf build build-san

# ======================================================================
# install / uninstall (production deployment; README "Production
# deployment").  Everything goes under $(DESTDIR)$(PREFIX); binaries keep
# their $ORIGIN/../lib rpath because the installed tree has the build
# tree's shape:
#
#   PREFIX/lib/twiliopay/{cgi-bin,bin,lib}    handlers, tools, libtwiliopay.so
#   PREFIX/share/twiliopay/www                the agent console
#   PREFIX/share/twiliopay/nginx              the nginx include (twiliopay.conf)
#   PREFIX/share/twiliopay/env.example        the configuration template
#   PREFIX/share/twiliopay/docs               docs/*.md (migrating.md)
#   PREFIX/lib/systemd/system                 twiliopay@.socket/.service, twiliopay.target
#   PREFIX/lib/{sysusers,tmpfiles}.d          the service user, /etc/twiliopay modes
#   PREFIX/sbin/twiliopay-check               the configuration checker
#   PREFIX/sbin/twiliopay-agent, -migrate     agents; the Node original's .env
#
# The configuration itself (CONFIG, /etc/twiliopay/env) is the operator's:
# never written, never removed.  systemd reads units from
# /usr/local/lib/systemd/system and /usr/lib/systemd/system; for another
# PREFIX, `systemctl link` them or set SYSTEMD_UNIT_DIR=/etc/systemd/system.
PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
CONFIG ?= $(SYSCONFDIR)/twiliopay/env
RUNDIR ?= /run/twiliopay
SERVICE_USER ?= twiliopay
NGINX_GROUP ?= www-data
NGINX_LOG_DIR ?= /var/log/nginx
FRAME_ANCESTORS ?= 'self'
CONN_PER_ADDRESS ?= 256
PKGLIBDIR := $(PREFIX)/lib/twiliopay
PKGSHAREDIR := $(PREFIX)/share/twiliopay
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
SYSUSERS_DIR ?= $(PREFIX)/lib/sysusers.d
TMPFILES_DIR ?= $(PREFIX)/lib/tmpfiles.d

install: all
	$(if $(filter /%,$(PREFIX)),,$(error PREFIX must be an absolute path))
	install -d -m 0755 $(DESTDIR)$(PKGLIBDIR)/cgi-bin $(DESTDIR)$(PKGLIBDIR)/bin \
		$(DESTDIR)$(PKGLIBDIR)/lib $(DESTDIR)$(PKGSHAREDIR)/www $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(LIB_SO) $(DESTDIR)$(PKGLIBDIR)/lib/
	install -m 0755 $(CGI_BIN) $(DESTDIR)$(PKGLIBDIR)/cgi-bin/
	install -m 0755 $(TOOL_BIN) $(DESTDIR)$(PKGLIBDIR)/bin/
	scripts/build-www install $(B) $(DESTDIR)$(PKGSHAREDIR)/www
	install -m 0644 .env.example $(DESTDIR)$(PKGSHAREDIR)/env.example
	install -m 0644 README.md $(DESTDIR)$(PKGSHAREDIR)/README.md
	install -d -m 0755 $(DESTDIR)$(PKGSHAREDIR)/docs
	install -m 0644 docs/*.md $(DESTDIR)$(PKGSHAREDIR)/docs/
	ln -sfn ../lib/twiliopay/bin/twiliopay-check $(DESTDIR)$(PREFIX)/sbin/twiliopay-check
	ln -sfn ../lib/twiliopay/bin/twiliopay-agent $(DESTDIR)$(PREFIX)/sbin/twiliopay-agent
	ln -sfn ../lib/twiliopay/bin/twiliopay-migrate $(DESTDIR)$(PREFIX)/sbin/twiliopay-migrate
	DESTDIR="$(DESTDIR)" PKGLIBDIR="$(PKGLIBDIR)" PKGSHAREDIR="$(PKGSHAREDIR)" \
	RUNDIR="$(RUNDIR)" CONFIG="$(CONFIG)" SYSCONFDIR="$(SYSCONFDIR)" \
	SERVICE_USER="$(SERVICE_USER)" NGINX_GROUP="$(NGINX_GROUP)" \
	NGINX_LOG_DIR="$(NGINX_LOG_DIR)" FRAME_ANCESTORS="$(FRAME_ANCESTORS)" \
	CONN_PER_ADDRESS="$(CONN_PER_ADDRESS)" \
	SYSTEMD_UNIT_DIR="$(SYSTEMD_UNIT_DIR)" SYSUSERS_DIR="$(SYSUSERS_DIR)" \
	TMPFILES_DIR="$(TMPFILES_DIR)" scripts/render-deploy
	@echo "installed under $(DESTDIR)$(PREFIX); next steps: README.md, \"Production deployment\""

uninstall:
	$(if $(filter /%,$(PREFIX)),,$(error PREFIX must be an absolute path))
	rm -rf $(DESTDIR)$(PKGLIBDIR) $(DESTDIR)$(PKGSHAREDIR)
	rm -f $(DESTDIR)$(PREFIX)/sbin/twiliopay-check $(DESTDIR)$(PREFIX)/sbin/twiliopay-agent \
		$(DESTDIR)$(PREFIX)/sbin/twiliopay-migrate \
		$(DESTDIR)$(SYSTEMD_UNIT_DIR)/twiliopay@.socket \
		$(DESTDIR)$(SYSTEMD_UNIT_DIR)/twiliopay@.service \
		$(DESTDIR)$(SYSTEMD_UNIT_DIR)/twiliopay.target \
		$(DESTDIR)$(SYSUSERS_DIR)/twiliopay.conf $(DESTDIR)$(TMPFILES_DIR)/twiliopay.conf \
		$(DESTDIR)$(SYSTEMD_UNIT_DIR)/twiliopay@*.service.d/bounds.conf
	-rmdir $(DESTDIR)$(SYSTEMD_UNIT_DIR)/twiliopay@*.service.d 2>/dev/null
	@echo "removed; $(CONFIG) and the $(SERVICE_USER) user are left in place"
