# mongodb.mk — stand-alone build of portprobe_mongodb.so and its unit test,
# until it is folded into the automake build. Run from the repository root:
#
#   make -f collectd-plugin/mongodb.mk              # build-mongodb/portprobe_mongodb.so
#   make -f collectd-plugin/mongodb.mk check        # unit + integration tests
#   make -f collectd-plugin/mongodb.mk SANITIZE=1 check   # the same under ASan/UBSan
#
# collectd's headers include "collectd/core/config.h" (shipped by
# collectd-dev) when HAVE_CONFIG_H is set: no local config shim is needed.

CC ?= gcc
PKG_CONFIG ?= pkg-config
PYTHON ?= /usr/bin/python3

ifeq ($(SANITIZE),1)
BUILDDIR ?= build-mongodb-asan
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer
else
BUILDDIR ?= build-mongodb
SAN_FLAGS =
endif

COLLECTD_CPPFLAGS = -DHAVE_CONFIG_H -I/usr/include/collectd \
	-I/usr/include/collectd/core -I/usr/include/collectd/core/daemon
MONGOC_CFLAGS := $(shell $(PKG_CONFIG) --cflags libmongoc-1.0)
MONGOC_LIBS := $(shell $(PKG_CONFIG) --libs libmongoc-1.0)
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check)

WARN_CFLAGS = -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(WARN_CFLAGS) $(CFLAGS) $(SAN_FLAGS) -fPIC -pthread

PLUGIN_SOURCES = collectd-plugin/portprobe_mongodb.c \
	collectd-plugin/mongo_buffer.c
PLUGIN_HEADERS = collectd-plugin/mongo_buffer.h

PLUGIN = $(BUILDDIR)/portprobe_mongodb.so
UNIT_TEST = $(BUILDDIR)/test_mongo_buffer

.PHONY: all check check-unit check-integration format clean

all: $(PLUGIN)

$(PLUGIN): $(PLUGIN_SOURCES) $(PLUGIN_HEADERS)
	@mkdir -p $(BUILDDIR)
	$(CC) $(ALL_CFLAGS) $(COLLECTD_CPPFLAGS) $(MONGOC_CFLAGS) -shared \
		-o $@ $(PLUGIN_SOURCES) $(MONGOC_LIBS) -lm

$(UNIT_TEST): tests/unit/test_mongo_buffer.c collectd-plugin/mongo_buffer.c \
		$(PLUGIN_HEADERS)
	@mkdir -p $(BUILDDIR)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -o $@ \
		tests/unit/test_mongo_buffer.c collectd-plugin/mongo_buffer.c \
		$(CHECK_LIBS)

check: check-unit check-integration

# Without fork, LeakSanitizer checks the whole run at exit.
check-unit: $(UNIT_TEST)
	CK_FORK=$(if $(filter 1,$(SANITIZE)),no,yes) $(UNIT_TEST)

check-integration: $(PLUGIN)
	PORTPROBE_MONGODB_SO=$(abspath $(PLUGIN)) \
	PORTPROBE_SANITIZE=$(SANITIZE) \
		$(PYTHON) -m pytest -q tests/integration/test_mongodb.py

format:
	clang-format -i $(PLUGIN_SOURCES) $(PLUGIN_HEADERS) \
		tests/unit/test_mongo_buffer.c

clean:
	rm -rf build-mongodb build-mongodb-asan
