/* SPDX-License-Identifier: MIT */
/* c_api_test.c: the C API from C11. */
#include <stdio.h>
#include <string.h>

#include "async.h"

int main(void)
{
    return strcmp(async_status_name(ASYNC_OK), "OK") == 0 ? 0 : 1;
}
