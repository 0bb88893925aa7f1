/* libFuzzer target: the request decoder (what the broker reads). */
#include <config.h>

#include <stdint.h>
#include <stdio.h>

#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_one(false, data, size);
}
