# GenesysPay in C - top-level build.
#
#   make            build the library, every handler, the emulator, tools
#   make run        local sandbox: nginx + handlers + Twilio emulator
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
LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lcjson -lcurl) -lfcgi -lcrypto

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

.PHONY: all lib cgi tools sim tests www run test unit check-deps deps clean \
	format format-check lint bench fuzz valgrind install uninstall

all: lib cgi tools sim www

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

# Unit tests link the static archive: they may reach file-internal
# helpers through lib/internal.h, and need no rpath.
$(B)/tests/test_%: tests/unit/test_%.c $(LIB_A) $(LIB_HDR) tests/unit/unit.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/unit $< -o $@ $(LDFLAGS) $(LIB_A) -lcmocka $(LIBS) -lpthread

$(B)/tests/%: tests/tools/%.c $(LIB_SO) $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ $(LDFLAGS) -L$(B)/lib $(RPATH) -ltwiliopay $(LIBS)

# The agent console: TypeScript compiled by the tsc of the npm lock file.
www:
	@scripts/build-www $(B)

deps:
	scripts/install-deps build run test

check-deps:
	@scripts/install-deps --check build

run: all
	scripts/run-sandbox $(B)

test: all tests
	B=$(B) SANITIZE=$(SANITIZE) tests/run

unit: tests
	B=$(B) tests/run unit

bench: all
	B=$(B) scripts/bench

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
