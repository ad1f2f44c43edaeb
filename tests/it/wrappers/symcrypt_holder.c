// Test holder for tests/it/wrappers/symcrypt_objects.rs (real_symcrypt_objects_in_process_dumps):
// imports the RSA key given as hex n, p, q and generates P-256/P-384/P-521 ECDSA keys, all in
// SymCrypt's own objects; prints each EC public point (X‖Y, hex) and READY, then blocks on stdin.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "symcrypt.h"

SYMCRYPT_ENVIRONMENT_POSIX_USERMODE;

PVOID SYMCRYPT_CALL SymCryptCallbackAlloc(SIZE_T n) { void *p = NULL; if (posix_memalign(&p, 64, n)) return NULL; return p; }
VOID SYMCRYPT_CALL SymCryptCallbackFree(PVOID p) { free(p); }
SYMCRYPT_ERROR SYMCRYPT_CALL SymCryptCallbackRandom(PBYTE pb, SIZE_T cb) { while (cb) { ssize_t r = getrandom(pb, cb, 0); if (r <= 0) return SYMCRYPT_EXTERNAL_FAILURE; pb += r; cb -= r; } return SYMCRYPT_NO_ERROR; }
PVOID SYMCRYPT_CALL SymCryptCallbackAllocateMutexFastInproc(void) { return malloc(1); }
VOID SYMCRYPT_CALL SymCryptCallbackFreeMutexFastInproc(PVOID m) { free(m); }
VOID SYMCRYPT_CALL SymCryptCallbackAcquireMutexFastInproc(PVOID m) { (void)m; }
VOID SYMCRYPT_CALL SymCryptCallbackReleaseMutexFastInproc(PVOID m) { (void)m; }

static size_t unhex(const char *h, BYTE *out) {
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) sscanf(h + 2 * i, "%2hhx", &out[i]);
    return n;
}

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    SymCryptInit();
    static BYTE n[2048], p[1024], q[1024];
    SIZE_T cn = unhex(argv[1], n), cp = unhex(argv[2], p), cq = unhex(argv[3], q);
    SYMCRYPT_RSA_PARAMS params = { 1, (UINT32)(cn * 8), 2, 1 };
    PSYMCRYPT_RSAKEY k = SymCryptRsakeyAllocate(&params, 0);
    UINT64 e = 65537;
    PCBYTE primes[2] = { p, q };
    SIZE_T cbPrimes[2] = { cp, cq };
    SYMCRYPT_ERROR err = SymCryptRsakeySetValue(n, cn, &e, 1, primes, cbPrimes, 2,
        SYMCRYPT_NUMBER_FORMAT_MSB_FIRST, SYMCRYPT_FLAG_RSAKEY_SIGN | SYMCRYPT_FLAG_KEY_NO_FIPS, k);
    if (err != SYMCRYPT_NO_ERROR) { fprintf(stderr, "SetValue %d\n", err); return 1; }
    PCSYMCRYPT_ECURVE_PARAMS curves[3] = { SymCryptEcurveParamsNistP256, SymCryptEcurveParamsNistP384, SymCryptEcurveParamsNistP521 };
    SIZE_T sizes[3] = { 32, 48, 66 };
    for (int c = 0; c < 3; c++) {
        PSYMCRYPT_ECURVE curve = SymCryptEcurveAllocate(curves[c], 0);
        PSYMCRYPT_ECKEY ek = SymCryptEckeyAllocate(curve);
        err = SymCryptEckeySetRandom(SYMCRYPT_FLAG_ECKEY_ECDSA | SYMCRYPT_FLAG_KEY_NO_FIPS, ek);
        if (err != SYMCRYPT_NO_ERROR) { fprintf(stderr, "Eckey %d\n", err); return 1; }
        BYTE xy[132];
        SymCryptEckeyGetValue(ek, NULL, 0, xy, 2 * sizes[c], SYMCRYPT_NUMBER_FORMAT_MSB_FIRST, SYMCRYPT_ECPOINT_FORMAT_XY, 0);
        printf("EC%d ", c);
        for (SIZE_T i = 0; i < 2 * sizes[c]; i++) printf("%02x", xy[i]);
        printf("\n");
    }
    printf("READY\n");
    fflush(stdout);
    getchar();
    return 0;
}
