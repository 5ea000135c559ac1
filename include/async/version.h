/* SPDX-License-Identifier: MIT */
/* async/version.h: the library version; CMake and the Makefile read these lines. */
#ifndef ASYNC_VERSION_H
#define ASYNC_VERSION_H

#define ASYNC_VERSION_MAJOR 0
#define ASYNC_VERSION_MINOR 1
#define ASYNC_VERSION_PATCH 0

#endif
