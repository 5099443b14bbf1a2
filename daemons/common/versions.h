/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Parse "3.0,1.0" into VMBUS_IC_VERSION() values. Returns the count or -EINVAL. */
int ic_versions_parse(const char *s, uint32_t *out, size_t max);
/* "3.0" into buf (at least 12 bytes). Returns buf. */
char *ic_version_format(uint32_t v, char *buf, size_t size);
