# SPDX-License-Identifier: MIT
# frozen_string_literal: true

# Builds qsem.so from the SWIG wrapper (generated when the gem was packed)
# and the C core, compiled as its one unit (core/qsem_all.c).
require "mkmf"

$INCFLAGS << " -I$(srcdir)/core"
$VPATH << "$(srcdir)/core"
$srcs = %w[qsemRUBY_wrap.c qsem_all.c]
$CFLAGS << " -std=gnu11 -fvisibility=hidden"
have_library("pthread") or abort "qsem needs pthreads"
create_makefile("qsem")
