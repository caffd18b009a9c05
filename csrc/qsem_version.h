/* SPDX-License-Identifier: MIT
 * qsem version.  The one place the version is written: CMake, setup.py and
 * the rockspec read it from here.  Within one major version the C ABI only
 * grows: existing functions keep their signatures and meanings. */
#ifndef QSEM_VERSION_H
#define QSEM_VERSION_H

#define QSEM_VERSION_MAJOR 0
#define QSEM_VERSION_MINOR 1
#define QSEM_VERSION_PATCH 0
#define QSEM_VERSION_STRING "0.1.0"
#define QSEM_VERSION_HEX ((QSEM_VERSION_MAJOR << 16) | (QSEM_VERSION_MINOR << 8) | QSEM_VERSION_PATCH)

#endif /* QSEM_VERSION_H */
