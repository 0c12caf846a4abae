/* Crypto figures for make bench: SHA-256 throughput (to compare with `openssl speed -evp sha256`
   run beside it), HS256 JWT verifications per second, the time of one PBKDF2 hash at the default
   600,000 rounds; and doubles written as JSON per second (random bit patterns, and short decimals
   such as prices), beside snprintf("%.17g") on the same values. Prints one "name value unit" line
   per figure; medians of 5 runs. */
#define WEBFW_IMPLEMENTATION
#define WF_NO_TESTING
#include "../../webfw.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

int main(void) {
    static uint8_t buf[16384];
    uint8_t d[32];
    double r[5];
    for (int k = 0; k < 5; k++) { /* SHA-256 over 16 KiB buffers, as openssl speed -bytes 16384 */
        size_t total = 0;
        double t0 = now();
        while (now() - t0 < 0.4) {
            for (int i = 0; i < 64; i++) wf_sha256(buf, sizeof buf, d);
            total += 64 * sizeof buf;
        }
        r[k] = (double)total / (now() - t0) / 1e6;
        buf[0] = d[0];
    }
    printf("sha256_16k %.1f MB/s\n", median(r, 5));
    wf_buf tok = {0};
    char claims[96];
    snprintf(claims, sizeof claims, "{\"sub\":\"testuser\",\"exp\":%lld}", (long long)time(NULL) + 1800);
    wf_jwt_encode(&tok, claims, "your-secret-key", 15);
    for (int k = 0; k < 5; k++) {
        long n = 0;
        double t0 = now();
        while (now() - t0 < 0.3) {
            for (int i = 0; i < 256; i++) {
                wf_json_doc c;
                if (wf_jwt_decode(tok.ptr, tok.len, "your-secret-key", 15, NULL, &c) == 0)
                    wf_json_free(&c), n++;
            }
        }
        r[k] = (double)n / (now() - t0);
    }
    printf("jwt_verify %.0f per_s\n", median(r, 5));
    for (int k = 0; k < 3; k++) {
        char h[128];
        double t0 = now();
        wf_password_hash(h, sizeof h, "testpass", 8, NULL);
        r[k] = (now() - t0) * 1000;
    }
    printf("pbkdf2_600k %.0f ms\n", median(r, 3));
    static double vals[2][4096];
    unsigned long long x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 4096; i++) {
        double v;
        do {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            memcpy(&v, &x, sizeof v);
        } while (v != v || v - v != 0);
        vals[0][i] = v;
        vals[1][i] = (double)(x % 1000000) / 100;           /* 1234.56: a price */
    }
    static const char *const names[] = {"json_double_random", "json_double_short"};
    char out[40];
    for (int set = 0; set < 2; set++)
        for (int way = 0; way < 2; way++) {
            for (int k = 0; k < 5; k++) {
                long n = 0;
                double t0 = now();
                while (now() - t0 < 0.2) {
                    for (int i = 0; i < 4096; i++)
                        way ? snprintf(out, sizeof out, "%.17g", vals[set][i])
                            : wf_json_double(out, vals[set][i]);
                    n += 4096;
                }
                r[k] = (double)n / (now() - t0);
            }
            printf("%s%s %.0f per_s\n", names[set], way ? "_printf17g" : "", median(r, 5));
        }
    wf_buf_free(&tok);
    return 0;
}
