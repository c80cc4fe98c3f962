/* SPDX-License-Identifier: GPL-2.0 */
/* Kept equal to dkms.conf's PACKAGE_VERSION and CMake's project version (tests/meta checks). */
#ifndef LIBRA_VERSION_H
#define LIBRA_VERSION_H
#define LIBRA_VERSION "0.1.0"
#endif
