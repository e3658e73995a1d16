/* Harness for the Armv8 SHA-256 path, cross-built and run under qemu-aarch64 by
 * tests/cli/sha256_armv8.sh: prints "LEN HEX" for prefixes of a pseudo-random buffer, which the
 * script compares with sha256sum on the host. Padding is done here so only sha256_arm.c is tested. */
#include "hash/sha256_hw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint32_t dd_sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static void digest(dd_sha256_compress_fn f, const unsigned char *m, size_t n, unsigned char out[32])
{
	uint32_t st[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	unsigned char pad[128] = { 0 };
	size_t full = n / 64, r = n % 64, pl = r < 56 ? 64 : 128;
	unsigned long long bits = (unsigned long long)n * 8;

	f(st, m, full);
	memcpy(pad, m + full * 64, r);
	pad[r] = 0x80;
	for (int i = 0; i < 8; i++)
		pad[pl - 1 - i] = (unsigned char)(bits >> (8 * i));
	f(st, pad, pl / 64);
	for (int i = 0; i < 32; i++)
		out[i] = (unsigned char)(st[i / 4] >> (24 - 8 * (i % 4)));
}

int main(int argc, char **argv)
{
	dd_sha256_compress_fn f = dd_sha256_armv8();
	size_t max = 70000;
	unsigned char *b = malloc(max), o[32];
	unsigned x = 1;
	FILE *fp;

	if (!f || !b || argc < 2) {
		puts("no armv8 sha2");
		return 1;
	}
	for (size_t i = 0; i < max; i++) {
		x = x * 1103515245 + 12345;
		b[i] = (unsigned char)(x >> 16);
	}
	fp = fopen(argv[1], "wb");
	if (!fp || fwrite(b, 1, max, fp) != max || fclose(fp))
		return 1;
	for (size_t n = 0; n < max; n = n < 200 ? n + 1 : n * 3 / 2) {
		digest(f, b, n, o);
		printf("%zu ", n);
		for (int i = 0; i < 32; i++)
			printf("%02x", o[i]);
		putchar('\n');
	}
	free(b);
	return 0;
}
