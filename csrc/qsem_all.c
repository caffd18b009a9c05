/* SPDX-License-Identifier: MIT
 * qsem_all.c: the whole core as one translation unit.
 *
 * Every build compiles this one file (CMake, setup.py, the rockspec, and
 * any package of a front end), so the list of core sources and the choice
 * of wait back end are written here and nowhere else.  The back end is the
 * Linux futex one where futexes exist, else the portable pthread one;
 * defining QSEM_FORCE_PTHREAD picks the portable one anywhere, so that it is
 * tested on Linux too.
 */
#if defined(__linux__)
#define _GNU_SOURCE                /* syscall(), PTHREAD_MUTEX_ADAPTIVE_NP */
#else
#define _POSIX_C_SOURCE 200809L    /* clock_gettime, pthreads, poll */
#endif

#define QSEM__CORE 1               /* qsem_internal.h: the core's helpers */

#include "qsem.c"
#include "qsem_waiter.c"
#if defined(__linux__) && !defined(QSEM_FORCE_PTHREAD)
#include "qsem_futex.c"
#else
#include "qsem_pthread.c"
#endif
