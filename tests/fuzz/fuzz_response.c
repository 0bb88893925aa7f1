/* libFuzzer target: the response decoder (what a client reads). */
#include <config.h>

#include <stdint.h>
#include <stdio.h>

#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_one(true, data, size);
}
