# Builds embertls with cargo and installs it as a system library.
#
#   make                                 cargo build --release, with the soname
#   make install [PREFIX=/usr/local]     build, then install under PREFIX
#   make install DESTDIR=/tmp/stage PREFIX=/usr      the same, staged for a package
#   make uninstall [PREFIX=/usr/local]   remove exactly what install put there
#   make cpp-example                     examples-c/cpp_client, against target/release
#
# Installed: LIBDIR/libembertls.so.X.Y.Z (soname libembertls.so.X) with the links
# libembertls.so.X and libembertls.so, LIBDIR/libembertls.a, INCLUDEDIR/embertls.h and
# embertls.hpp, LIBDIR/pkgconfig/embertls.pc and LIBDIR/cmake/embertls/ (find_package).
# LIBDIR (default PREFIX/lib, e.g. PREFIX/lib/x86_64-linux-gnu) and INCLUDEDIR (default
# PREFIX/include) may be set, inside PREFIX. The version is Cargo.toml's.
#
# `make install` runs cargo: as root too, unless the library is already built and fresh.
# `make && sudo make install` builds as you, then installs.

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DESTDIR    ?=
CARGO      ?= cargo
CXXFLAGS   ?= -std=c++17 -Wall -Wextra -O2 -g

# cargo's output directory, as cargo itself chooses it.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
BUILD_DIR  := $(TARGET_DIR)/release

# One source of truth: the [package] section of Cargo.toml.
package_field = $(shell sed -n '/^\[package\]/,/^\[/s/^$(1) *= *"\([^"]*\)".*/\1/p' Cargo.toml)
VERSION     := $(call package_field,version)
DESCRIPTION := $(call package_field,description)
MAJOR       := $(firstword $(subst ., ,$(VERSION)))

ifeq ($(VERSION),)
$(error cannot read the version from Cargo.toml)
endif

all: build

# EMBERTLS_SONAME=1 makes build.rs give the shared library its soname. The link named
# after the soname lets programs linked against the build tree (make cpp-example) run
# from it.
build:
	EMBERTLS_SONAME=1 $(CARGO) build --release --lib
	ln -sfn libembertls.so $(BUILD_DIR)/libembertls.so.$(MAJOR)

install: build
	DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' LIBDIR='$(LIBDIR)' INCLUDEDIR='$(INCLUDEDIR)' \
	VERSION='$(VERSION)' MAJOR='$(MAJOR)' DESCRIPTION='$(DESCRIPTION)' \
	BUILD_DIR='$(BUILD_DIR)' sh packaging/install.sh install

uninstall:
	DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' LIBDIR='$(LIBDIR)' INCLUDEDIR='$(INCLUDEDIR)' \
	VERSION='$(VERSION)' MAJOR='$(MAJOR)' BUILD_DIR='$(BUILD_DIR)' \
	sh packaging/install.sh uninstall

# The C++ example, linked against the build tree with an rpath to it.
cpp-example: build
	$(CXX) $(CXXFLAGS) -Iinclude -o examples-c/cpp_client examples-c/cpp_client.cpp \
	    -L$(BUILD_DIR) -Wl,-rpath,$(abspath $(BUILD_DIR)) -lembertls

clean:
	rm -f examples-c/cpp_client

.PHONY: all build install uninstall cpp-example clean
